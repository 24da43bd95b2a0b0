"""Choosing a device and making runs reproducible."""

from __future__ import annotations

import numbers
import os
import random
import warnings

import numpy as np
import torch

from . import _validate as check

_KNOWN_DEVICE_TYPES = ("cpu", "cuda", "mps")
_CUBLAS_WORKSPACE_CONFIG = ":4096:8"  # what PyTorch's reproducibility notes ask for


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


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU) in one call.

    seed: a non-negative integer.
    deterministic: also make PyTorch pick deterministic algorithms (True), or allow
        PyTorch's default, faster, possibly non-deterministic ones (False, the default).

    What a seed buys: the same seed, code, PyTorch version and device give the same
    random draws. Computations on those draws repeat exactly on the CPU (with the same
    number of threads); on a CUDA GPU
    some kernels (atomic additions in reductions and scatter, cuDNN's autotuner, cuBLAS
    workspaces) may sum in a different order on every run, so results can differ in the
    last bits unless ``deterministic=True``. That sets
    ``torch.use_deterministic_algorithms(True)`` (an operation with no deterministic
    version then raises RuntimeError), ``torch.backends.cudnn.deterministic = True`` and
    ``torch.backends.cudnn.benchmark = False``, and the environment variable
    ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (unless already set). cuBLAS reads that variable
    when CUDA starts, so call this before the first CUDA operation; if CUDA is already
    initialised, a RuntimeWarning says so. ``deterministic=False`` turns deterministic
    algorithms and ``cudnn.deterministic`` off again and leaves ``cudnn.benchmark`` and
    the environment variable as they are.

    It does not set ``PYTHONHASHSEED``: Python fixes string hashing when the interpreter
    starts, so that variable must be set before launching Python. Returns None; raises
    ValueError for a seed that is not a non-negative int and TypeError for a
    ``deterministic`` that is not a bool.
    """
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        seed = int(seed)  # NumPy integers too
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be a non-negative int below 2**32 (NumPy's limit), got {seed!r}")
    if not isinstance(deterministic, bool):
        raise TypeError(f"deterministic must be True or False, got {deterministic!r}")
    if deterministic:
        if "CUBLAS_WORKSPACE_CONFIG" not in os.environ and torch.cuda.is_initialized():
            warnings.warn(
                "seed_everything(deterministic=True) was called after CUDA started: "
                "CUBLAS_WORKSPACE_CONFIG is read when CUDA starts, so cuBLAS may still be "
                "non-deterministic; call it before the first CUDA operation",
                RuntimeWarning,
                stacklevel=2,
            )
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", _CUBLAS_WORKSPACE_CONFIG)
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    if deterministic:
        torch.backends.cudnn.benchmark = False  # the autotuner may pick a different algorithm per run
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
