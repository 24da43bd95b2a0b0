"""The image data the book trains on, with an offline fallback.

Online (Colab, your laptop): FashionMNIST, 70,000 28x28 grey photos of clothing, via torchvision.
Offline (CI, no network): scikit-learn's bundled handwritten digits, 1,797 real 8x8 grey images.
Either way you get the same thing: train/val/test datasets of (image, label) pairs with images
as float tensors of shape (1, side, side) in [0, 1] and labels as int64 class indices.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, random_split

from . import _validate as check

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def data_dir() -> Path:
    """The book's ``data/`` folder: next to the ``helpers`` package in a checkout of the book, else ``./data``.

    A checkout is recognised by ``data/README.md``. The folder is created when it does not exist yet.
    """
    for candidate in (
        Path(__file__).resolve().parents[1] / "data",
        Path.cwd() / "data",
        Path.cwd().parent / "data",
    ):
        if (candidate / "README.md").is_file():
            return candidate
    fallback = Path("data")
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


@dataclass
class ImageData:
    """Datasets plus what a lesson needs to know about them."""

    name: str  # "FashionMNIST" or "digits"
    train: Dataset
    val: Dataset
    test: Dataset
    classes: list[str]  # class index -> human-readable name
    image_size: int  # 28 for FashionMNIST, 8 for digits


def _size(dataset: Dataset) -> int:
    """len() of a map-style dataset (torch's Dataset type does not declare __len__)."""
    return len(dataset)  # type: ignore[arg-type]


def _split(dataset: Dataset, val_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    n_val = int(round(_size(dataset) * val_fraction))
    generator = torch.Generator().manual_seed(seed)
    train, val = random_split(dataset, [_size(dataset) - n_val, n_val], generator=generator)
    return train, val


def load_fashion_mnist(
    root: str | Path | None = None, val_fraction: float = 0.1, seed: int = 0, download: bool = True
) -> ImageData:
    """FashionMNIST from torchvision (downloaded to ``root``, default ``data_dir()``, the first time, ~30 MB).

    val_fraction: share of the 60,000 training images held out for validation, in (0, 1) (default 0.1).
    seed: seeds the train/val split (default 0). download: fetch the files when missing (default True).
    Returns an ImageData with 54,000/6,000 train/val images (val_fraction=0.1) and 10,000 test images.
    Raises whatever torchvision raises when the files are missing and cannot be downloaded.
    """
    root = data_dir() if root is None else check.path_like("root", root)
    val_fraction = check.fraction("val_fraction", val_fraction)
    seed = check.non_negative_int("seed", seed)
    download = check.boolean("download", download)
    from torchvision import datasets

    parts = {}
    for split, is_train in (("train", True), ("test", False)):
        raw = datasets.FashionMNIST(str(root), train=is_train, download=download)
        images = raw.data.unsqueeze(1).float() / 255.0  # (N, 1, 28, 28) in [0, 1]
        parts[split] = TensorDataset(images, raw.targets.long())
    train, val = _split(parts["train"], val_fraction, seed)
    return ImageData("FashionMNIST", train, val, parts["test"], list(FASHION_CLASSES), 28)


def load_digits_data(val_fraction: float = 0.15, test_fraction: float = 0.2, seed: int = 0) -> ImageData:
    """scikit-learn's 1,797 handwritten digits (8x8, shipped inside scikit-learn: no download).

    test_fraction: share of all images kept for the test set, in (0, 1) (default 0.2).
    val_fraction: share of the remaining images held out for validation, in (0, 1) (default 0.15).
    seed: seeds both splits (default 0), so they are the same on every machine.
    Pixel values 0..16 are scaled to [0, 1]. Returns an ImageData (1,222 / 216 / 359 images by default).
    """
    val_fraction = check.fraction("val_fraction", val_fraction)
    test_fraction = check.fraction("test_fraction", test_fraction)
    seed = check.non_negative_int("seed", seed)
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is in requirements.txt
        raise ImportError("the offline dataset needs scikit-learn: pip install scikit-learn") from err
    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (1797, 1, 8, 8)
    full = TensorDataset(images, torch.tensor(bunch.target, dtype=torch.long))
    n_test = int(round(len(full) * test_fraction))
    generator = torch.Generator().manual_seed(seed)
    rest, test = random_split(full, [len(full) - n_test, n_test], generator=generator)
    train, val = _split(rest, val_fraction, seed)
    return ImageData("digits", train, val, test, [str(d) for d in range(10)], 8)


def load_image_data(root: str | Path | None = None, offline: bool | None = None, seed: int = 0) -> ImageData:
    """FashionMNIST when it can be had, otherwise the offline digits; prints one line saying which.

    root: the folder for FashionMNIST's files (default None: ``data_dir()``).
    offline: True skips the download attempt; None (default) reads the environment variable COURSE_OFFLINE
    ("1" means offline) and otherwise tries FashionMNIST first.
    seed: seeds the train/val(/test) splits (default 0).
    """
    if root is not None:
        root = check.path_like("root", root)
    if offline is not None:
        offline = check.boolean("offline", offline)
    seed = check.non_negative_int("seed", seed)
    if offline is None:
        offline = os.environ.get("COURSE_OFFLINE", "0") == "1"
    if not offline:
        try:
            data = load_fashion_mnist(root, seed=seed)
            print(
                f"Data: FashionMNIST ({_size(data.train):,} train / {_size(data.val):,} val / "
                f"{_size(data.test):,} test, 28x28)."
            )
            return data
        except Exception as err:  # no network, blocked download, corrupt files...
            reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:120]
            print(f"Note: FashionMNIST is not available here ({reason}).")
    data = load_digits_data(seed=seed)
    print(
        f"Data: offline fallback, scikit-learn's handwritten digits ({_size(data.train):,} train / "
        f"{_size(data.val):,} val / {_size(data.test):,} test, 8x8 real images)."
    )
    return data


def _datasets(data: Any) -> list[Dataset]:
    """The datasets inside ``data``: an ImageData (train, val, test) or a sequence of Datasets."""
    if isinstance(data, ImageData):
        return [data.train, data.val, data.test]
    if isinstance(data, Dataset):
        raise TypeError(
            f"data must be an ImageData or a tuple of Datasets such as (train_set, val_set), got one "
            f"{type(data).__name__}: pass a tuple, e.g. make_loaders((train_set, val_set), batch_size=64)"
        )
    if isinstance(data, Sequence) and not isinstance(data, str) and 1 <= len(data) <= 3:
        for i, part in enumerate(data):
            if not isinstance(part, Dataset):
                raise TypeError(
                    f"data[{i}] must be a torch Dataset (e.g. TensorDataset(X, y)), got {check.describe(part)}"
                )
        return list(data)
    raise TypeError(
        "data must be an ImageData (from load_image_data) or a tuple of 1 to 3 Datasets "
        f"(train, val, test), got {check.describe(data)}"
    )


def make_loaders(
    data: ImageData | Sequence[Dataset],
    batch_size: int = 64,
    num_workers: int = 0,
    seed: int = 0,
    *,
    eval_batch_size: int = 256,
) -> tuple[DataLoader, ...]:
    """DataLoaders for a training set (shuffled with a seeded generator) and evaluation sets (in order).

    data: an ImageData (gives train, val, test loaders) or a tuple/list of 1 to 3 Datasets of any kind,
      e.g. ``(TensorDataset(X_train, y_train), TensorDataset(X_val, y_val))`` for tabular data; the first
      is the training set. Returns one DataLoader per dataset, in the same order.
    batch_size: samples per training batch (default 64). eval_batch_size: samples per batch of the other
      loaders (default 256; no gradients there, so larger batches fit).
    num_workers: worker processes per loader (default 0: batches are loaded in the notebook's own process,
      the safe default in Jupyter, Colab and on Windows/macOS, and fast enough for in-memory tensors).
    seed: seeds the training loader's shuffle generator (default 0), so every run sees the same order.
    An IterableDataset is never shuffled (it decides its own order).
    """
    datasets = _datasets(data)
    batch_size = check.positive_int("batch_size", batch_size)
    eval_batch_size = check.positive_int("eval_batch_size", eval_batch_size)
    num_workers = check.non_negative_int("num_workers", num_workers)
    seed = check.non_negative_int("seed", seed)
    if hasattr(datasets[0], "__len__") and _size(datasets[0]) == 0:
        raise ValueError("the training set (data[0]) is empty: expected at least one sample to shuffle")
    loaders = []
    for i, dataset in enumerate(datasets):
        if i == 0 and not isinstance(dataset, IterableDataset):
            generator = torch.Generator().manual_seed(seed)
            loaders.append(
                DataLoader(
                    dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers, generator=generator
                )
            )
        else:
            size = batch_size if i == 0 else eval_batch_size
            loaders.append(DataLoader(dataset, batch_size=size, num_workers=num_workers))
    return tuple(loaders)
