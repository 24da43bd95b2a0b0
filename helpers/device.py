"""Choosing a device and making runs reproducible."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from . import _validate as check

_KNOWN_DEVICE_TYPES = ("cpu", "cuda", "mps")


def get_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple's MPS, then the CPU.

    preferred: force a device ("cpu", "cuda", "cuda:1", "mps", or a torch.device); None (default) picks
    automatically. Returns a ``torch.device``. Raises TypeError for anything else, ValueError for an unknown
    device string and RuntimeError when the requested device is not available on this machine.
    """
    if preferred is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = check.device_like("preferred", preferred)
    if device.type not in _KNOWN_DEVICE_TYPES:
        raise ValueError(f"unknown device {str(device)!r}: expected one of {_KNOWN_DEVICE_TYPES}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {str(device)!r} requested but CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise RuntimeError(
            f"device {str(device)!r} requested but this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"device {str(device)!r} requested but Apple MPS is not available on this machine")
    return device


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU) in one call.

    seed: a non-negative integer. Same seed + same code + same device => same numbers.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def describe_device(device: torch.device | None = None) -> str:
    """One human-readable line about a device, e.g. 'cuda (Tesla T4)' or 'cpu (2 threads)'.

    device: a torch.device or device string (default None: the one ``get_device()`` picks).
    """
    device = get_device() if device is None else check.device_like("device", device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"
