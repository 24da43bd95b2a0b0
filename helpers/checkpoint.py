"""Saving and resuming training safely.

A checkpoint is a plain dict of tensors and Python scalars:
    {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": int, "metrics": dict}
so it loads with ``torch.load(..., weights_only=True)``, which never runs pickled code.
Saves are atomic: write to a temporary file in the same folder, then rename it over the target.
A crash half-way through a save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, or does not fit the model it is loaded into."""


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (temporary file + ``os.replace``). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    epoch: int = 0,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Save model (+ optimizer) state, the epoch number and metrics to ``path`` atomically."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "epoch": int(epoch),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
    }
    return atomic_save(checkpoint, path)


def _check_fits(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Raise CheckpointError naming missing/unexpected keys or mismatched shapes."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if mismatched:
        problems.append("shape mismatch " + "; ".join(mismatched))
    if problems:
        raise CheckpointError(
            f"checkpoint does not fit {type(model).__name__}: "
            + ", ".join(problems)
            + " (was it saved from a different architecture?)"
        )


def load_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device | None = None,
) -> dict[str, Any]:
    """Load a checkpoint written by ``save_checkpoint`` into ``model`` (and ``optimizer``).

    map_location: where tensors go, e.g. "cpu" to open a GPU checkpoint on a laptop;
    None uses the device of the model's parameters.
    Returns the checkpoint dict (its "epoch" and "metrics" tell where training stopped).
    Raises CheckpointError for a missing, corrupt or mismatching file; the model is untouched then.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    if map_location is None:
        first = next(model.parameters(), None)
        map_location = first.device if first is not None else "cpu"
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is corrupt or not a PyTorch "
            f"checkpoint ({type(err).__name__})"
        ) from err
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise CheckpointError(
            f"{path} is not a checkpoint from save_checkpoint: expected a dict with a 'model' key"
        )
    _check_fits(model, checkpoint["model"])
    model.load_state_dict(checkpoint["model"])
    if optimizer is not None:
        if checkpoint.get("optimizer") is None:
            raise CheckpointError(f"{path} holds no optimizer state, but an optimizer was given")
        optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint
