"""Pieces of an input pipeline (Chapter 6): a streaming CSV dataset, image folders, loader timing.

The data folder itself belongs to ``helpers.data.data_dir``.

    wine_csv()             path to ``data/wine.csv`` (178 wines, 13 measurements, cultivar 0-2); rewritten if missing
    export_wine_csv(path)  write scikit-learn's bundled copy of the UCI wine data as that CSV
    CsvStream              an IterableDataset reading a numeric CSV row by row, each row once across worker processes
    write_image_folder()   save uint8 images as PNG files, one folder per class (the layout ``ImageFolder`` reads)
    measure_throughput()   how many batches and samples per second a DataLoader delivers
    seed_worker()          PyTorch's reproducibility recipe: seed ``random`` and NumPy in each loader worker
    NumpyNoise             a dataset whose samples come from NumPy's global generator (to show seed_worker)
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from ..data import data_dir

WINE_FILE = "wine.csv"
WINE_LABEL = "cultivar"


def export_wine_csv(path: str | Path) -> Path:
    """Write scikit-learn's copy of the UCI wine data (178 rows) to ``path`` as CSV and return the path.

    Columns: the 13 measurements under scikit-learn's feature names, then ``cultivar`` (0, 1 or 2).
    Numbers are written with ``repr`` so that reading the file back gives exactly scikit-learn's values.
    """
    try:
        from sklearn.datasets import load_wine
    except ImportError as err:  # pragma: no cover - scikit-learn is in requirements.txt
        raise ImportError("export_wine_csv needs scikit-learn: pip install scikit-learn") from err
    path = Path(path)
    if path.suffix != ".csv":
        raise ValueError(f"path must name a .csv file, got {str(path)!r}")
    bunch = load_wine()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(list(bunch.feature_names) + [WINE_LABEL])
        for features, label in zip(bunch.data.tolist(), bunch.target.tolist()):
            writer.writerow([repr(v) for v in features] + [int(label)])
    return path


def wine_csv(folder: str | Path | None = None) -> Path:
    """Path to ``wine.csv`` in ``folder`` (default: ``data_dir()``).

    The file ships with the book; where it is missing (a notebook opened alone, e.g. in Colab) it is
    written from scikit-learn's bundled copy of the same data, and a note says so.
    """
    folder = data_dir() if folder is None else Path(folder)
    path = folder / WINE_FILE
    if not path.is_file():
        export_wine_csv(path)
        print(f"Note: {path} was missing; wrote it from scikit-learn's bundled copy of the same data.")
    return path


class CsvStream(IterableDataset):
    """Stream ``(features, label)`` pairs from a numeric CSV file, one row at a time.

    path: a CSV file with a header row; every cell is a number and the last column is an integer class label.
    Yields ``(float32 tensor of shape (columns - 1,), int64 scalar tensor)``; the file is never held in memory.

    With ``num_workers=k`` the DataLoader gives each of its k worker processes its own copy of this object.
    shard=True makes worker ``w`` keep only rows ``w, w + k, w + 2k, ...`` so every row comes out exactly once;
    shard=False (only to demonstrate the mistake) lets every worker read every row: k copies of the data.
    """

    def __init__(self, path: str | Path, shard: bool = True) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"CsvStream needs an existing CSV file, got {str(path)!r}")
        self.shard = bool(shard)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()  # None in the main process
        worker, workers = (info.id, info.num_workers) if info is not None and self.shard else (0, 1)
        with open(self.path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{self.path} is empty: expected a header row")
            for row_number, row in enumerate(reader):
                if row_number % workers != worker:
                    continue  # another worker yields this row
                yield self._parse(row, len(header), row_number + 2)

    def _parse(self, row: list[str], width: int, line: int) -> tuple[torch.Tensor, torch.Tensor]:
        if len(row) != width:
            raise ValueError(
                f"{self.path}, line {line}: expected {width} values like the header, got {len(row)}"
            )
        try:
            values = [float(v) for v in row]
        except ValueError as err:
            raise ValueError(f"{self.path}, line {line}: every value must be a number ({err})") from None
        if values[-1] != int(values[-1]):
            raise ValueError(
                f"{self.path}, line {line}: the last column must be an integer label, got {row[-1]!r}"
            )
        return torch.tensor(values[:-1], dtype=torch.float32), torch.tensor(int(values[-1]))


def write_image_folder(
    images: torch.Tensor, labels: Sequence[int] | torch.Tensor, classes: Sequence[str], root: str | Path
) -> Path:
    """Save images as PNG files in ``root/<class name>/<index>.png`` and return ``root``.

    images: uint8 tensor (N, H, W) for grey images or (N, C, H, W) with C = 1 (grey) or 3 (RGB).
    labels: N class indices into ``classes``; classes: folder names (non-empty, no path separators).
    Existing files with the same names are overwritten, so writing twice gives the same tree.
    """
    from PIL import Image

    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise TypeError(
            f"images must be a uint8 tensor, got {type(images).__name__}"
            f"{'' if not isinstance(images, torch.Tensor) else ' of dtype ' + str(images.dtype)}"
        )
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(
            f"images must have shape (N, H, W) or (N, C, H, W) with C in (1, 3), got {tuple(images.shape)}"
        )
    labels = [int(label) for label in labels]
    if len(labels) != len(images):
        raise ValueError(f"got {len(labels)} labels for {len(images)} images")
    for name in classes:
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"class names must be plain folder names, got {name!r}")
    bad = [label for label in labels if not 0 <= label < len(classes)]
    if bad:
        raise ValueError(f"labels must lie in [0, {len(classes) - 1}] (one per class name), got {bad[0]}")
    root = Path(root)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
    width = len(str(max(len(images) - 1, 0)))
    for index, (image, label) in enumerate(zip(images, labels)):
        array = image.permute(1, 2, 0).numpy()
        pil = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
        pil.save(root / classes[label] / f"{index:0{width}d}.png")
    return root


@dataclass
class Throughput:
    """What ``measure_throughput`` measured."""

    batches: int
    samples: int
    seconds: float

    @property
    def batches_per_s(self) -> float:
        return self.batches / self.seconds

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds


def _batch_length(batch: Any) -> int:
    """Number of samples in a batch: the first dimension of its first tensor."""
    if isinstance(batch, torch.Tensor):
        return batch.shape[0] if batch.dim() > 0 else 1
    if isinstance(batch, dict):
        return _batch_length(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_length(batch[0])
    raise TypeError(f"cannot count the samples in a batch of type {type(batch).__name__}")


def measure_throughput(loader: Iterable, seconds: float = 0.5, max_batches: int | None = None) -> Throughput:
    """Draw batches from ``loader`` for about ``seconds`` (starting new epochs as needed) and time it.

    Counts what a training loop would wait for: creating the iterator (worker start-up included),
    fetching and collating. Stops after ``max_batches`` batches if given. Returns a ``Throughput``.
    """
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    if max_batches is not None and (not isinstance(max_batches, int) or max_batches < 1):
        raise ValueError(f"max_batches must be None or an int >= 1, got {max_batches!r}")
    if not hasattr(loader, "__iter__"):
        raise TypeError(f"loader must be iterable (e.g. a DataLoader), got {type(loader).__name__}")
    batches = samples = 0
    start = time.perf_counter()
    while True:
        epoch_batches = 0
        for batch in loader:
            batches, epoch_batches = batches + 1, epoch_batches + 1
            samples += _batch_length(batch)
            if time.perf_counter() - start >= seconds or batches == max_batches:
                return Throughput(batches, samples, time.perf_counter() - start)
        if epoch_batches == 0:
            raise ValueError("the loader produced no batches: expected at least one")


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for a DataLoader: seed Python's ``random`` and NumPy from the worker's torch seed.

    Inside a worker, ``torch.initial_seed()`` is the loader's base seed (drawn from its ``generator``) plus
    ``worker_id``: different in every worker, and the same again when the generator is seeded the same.
    This is the recipe from PyTorch's reproducibility notes; add the seeding of any other random library here.
    """
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


class NumpyNoise(Dataset):
    """``n`` samples, each one float drawn from NumPy's global generator when it is fetched."""

    def __init__(self, n: int) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> float:
        return float(np.random.rand())
