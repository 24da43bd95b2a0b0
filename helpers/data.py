"""The image data the book trains on, with an offline fallback.

Online (Colab, your laptop): FashionMNIST, 70,000 28x28 grey photos of clothing, via torchvision.
Offline (CI, no network): scikit-learn's bundled handwritten digits, 1,797 real 8x8 grey images.
Either way you get the same thing: train/val/test datasets of (image, label) pairs with images
as float tensors of shape (1, side, side) in [0, 1] and labels as int64 class indices.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset, TensorDataset, random_split

SizedDataset = TensorDataset | Subset  # what the loaders return: a dataset whose len() is known

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
    train: SizedDataset
    val: SizedDataset
    test: SizedDataset
    classes: list[str]  # class index -> human-readable name
    image_size: int  # 28 for FashionMNIST, 8 for digits


def _split(dataset: SizedDataset, val_fraction: float, seed: int) -> tuple[Subset, Subset]:
    n_val = int(round(len(dataset) * val_fraction))
    generator = torch.Generator().manual_seed(seed)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=generator)
    return train, val


def load_fashion_mnist(
    root: str | Path | None = None, val_fraction: float = 0.1, seed: int = 0, download: bool = True
) -> ImageData:
    """FashionMNIST from torchvision (downloaded to ``root``, default ``data_dir()``, the first time, ~30 MB).

    Returns an ImageData with 54,000/6,000 train/val images (val_fraction=0.1) and 10,000 test images.
    Raises whatever torchvision raises when the files are missing and cannot be downloaded.
    """
    from torchvision import datasets

    root = data_dir() if root is None else Path(root)
    parts = {}
    for split, is_train in (("train", True), ("test", False)):
        raw = datasets.FashionMNIST(str(root), train=is_train, download=download)
        images = raw.data.unsqueeze(1).float() / 255.0  # (N, 1, 28, 28) in [0, 1]
        parts[split] = TensorDataset(images, raw.targets.long())
    train, val = _split(parts["train"], val_fraction, seed)
    return ImageData("FashionMNIST", train, val, parts["test"], list(FASHION_CLASSES), 28)


def load_digits_data(val_fraction: float = 0.15, test_fraction: float = 0.2, seed: int = 0) -> ImageData:
    """scikit-learn's 1,797 handwritten digits (8x8, shipped inside scikit-learn: no download).

    Pixel values 0..16 are scaled to [0, 1]. The split is seeded, so it is the same on every machine.
    """
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

    offline: True skips the download attempt; None reads the environment variable COURSE_OFFLINE
    ("1" means offline) and otherwise tries FashionMNIST first.
    """
    if offline is None:
        offline = os.environ.get("COURSE_OFFLINE", "0") == "1"
    if not offline:
        try:
            data = load_fashion_mnist(root, seed=seed)
            print(
                f"Data: FashionMNIST ({len(data.train):,} train / {len(data.val):,} val / "
                f"{len(data.test):,} test, 28x28)."
            )
            return data
        except Exception as err:  # no network, blocked download, corrupt files...
            reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:120]
            print(f"Note: FashionMNIST is not available here ({reason}).")
    data = load_digits_data(seed=seed)
    print(
        f"Data: offline fallback, scikit-learn's handwritten digits ({len(data.train):,} train / "
        f"{len(data.val):,} val / {len(data.test):,} test, 8x8 real images)."
    )
    return data


def make_loaders(
    data: ImageData, batch_size: int = 64, num_workers: int = 0, seed: int = 0
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """DataLoaders (train shuffled with a seeded generator; val and test in order).

    num_workers=0 loads batches in the notebook's own process: the safe default in Jupyter,
    Colab and on Windows/macOS, and fast enough for in-memory tensors.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers must be an int >= 0, got {num_workers!r}")
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        data.train, batch_size=batch_size, shuffle=True, num_workers=num_workers, generator=generator
    )
    val_loader = DataLoader(data.val, batch_size=256, num_workers=num_workers)
    test_loader = DataLoader(data.test, batch_size=256, num_workers=num_workers)
    return train_loader, val_loader, test_loader
