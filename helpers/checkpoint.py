"""Saving and resuming training safely.

A checkpoint is a plain dict of tensors and Python data:
    {"model": model.state_dict(), "optimizer": optimizer.state_dict() or None,
     "scheduler": scheduler.state_dict() or None, "scaler": scaler.state_dict() or None,
     "epoch": int, "metrics": {name: float}, "rng": random generator states, "classes": class names,
     "extra": plain data of your own}
so it loads with ``torch.load(..., weights_only=True)``, which never runs pickled code.

Saves are atomic: write to a temporary file in the same folder, fsync it, rename it over the target, fsync
the folder. A crash half-way through a save leaves the previous checkpoint intact; the temporary file a
killed save leaves behind is removed by the next save to the same path.

``load_checkpoint`` checks the whole file against the model, optimizer, scheduler and scaler *before*
changing any of them; every problem with the file is a ``CheckpointError`` that says what is wrong and
what to do.

A model wrapped by ``torch.compile`` or ``DistributedDataParallel`` is saved as the plain model inside it, so
its keys carry no ``_orig_mod.``/``module.`` prefix and the file loads into a plain model (or a wrapped one).
"""

from __future__ import annotations

import os
import pickle
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import _validate as check

FORMAT = "helpers.checkpoint/2"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, or does not fit what it is loaded into."""


# ---- writing -------------------------------------------------------------------------------------------

_WRAPPER_PREFIXES = ("_orig_mod.", "module.")  # torch.compile's OptimizedModule; DDP and DataParallel


def plain_model(model: nn.Module) -> nn.Module:
    """The model inside torch.compile / DistributedDataParallel / DataParallel wrappers (``model`` if none)."""
    while True:
        inner = getattr(model, "_orig_mod", None)
        if inner is None and isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            inner = model.module
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def _without_wrapper_prefix(state: Mapping[str, Any], expected: Mapping[str, Any]) -> Mapping[str, Any]:
    """A state_dict saved from a wrapped model by hand (keys '_orig_mod.x', 'module.x'), renamed to fit."""
    keys = list(state)
    for _ in range(4):  # a compiled DDP model has both prefixes
        prefix = next((p for p in _WRAPPER_PREFIXES if keys and all(k.startswith(p) for k in keys)), None)
        if prefix is None:
            break
        keys = [k[len(prefix) :] for k in keys]
    if keys == list(state) or set(keys) != set(expected):
        return state
    return dict(zip(keys, state.values()))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_stale_temp_files(path: Path) -> None:
    """Remove temporary files that earlier saves to ``path`` left behind when they were killed."""
    prefix = f".{path.name}."
    for candidate in path.parent.glob(f"{glob_escape(prefix)}*.tmp"):
        pid_text = candidate.name[len(prefix) :].split(".", 1)[0]
        if os.name == "posix" and pid_text.isdigit():
            stale = int(pid_text) != os.getpid() and not _pid_alive(int(pid_text))
        else:  # no process id to ask about (older name, or Windows): stale when untouched for 10 minutes
            try:
                stale = time.time() - candidate.stat().st_mtime > 600
            except OSError:
                continue
        if stale:
            candidate.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder for fsync; os.replace is durable enough there
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (temporary file + ``os.replace``). Returns the path.

    The file gets the permissions ``torch.save`` would give it (0666 minus the umask). Temporary files left
    by an earlier save to the same path that was killed are removed first.
    """
    path = check.path_like("path", path)
    if path.is_dir():
        raise IsADirectoryError(
            f"path must be a file path, got the folder {path}: add a file name, e.g. {path / 'checkpoint.pt'}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)  # make the rename itself survive a power cut
    return path


_PLAIN = (type(None), bool, int, float, str, bytes, torch.Tensor, torch.Size, torch.dtype, torch.device)


def _check_plain(value: Any, where: str) -> None:
    """Raise TypeError unless ``value`` is data that ``torch.load(weights_only=True)`` can read back."""
    if isinstance(value, _PLAIN) and type(value).__module__ != "numpy":  # np.float64 subclasses float
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where} has a key of type {type(key).__name__}: use str keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple, set)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    hint = (
        " (a NumPy number: convert it with float(x) or int(x))" if type(value).__module__ == "numpy" else ""
    )
    raise TypeError(
        f"{where} is {check.describe(value)}{hint}, which torch.load(weights_only=True) refuses to read: "
        "store plain Python numbers, strings, lists, dicts and tensors only"
    )


def _has_state_dict(name: str, value: Any, example: str) -> Any:
    if value is None:
        return None
    if isinstance(value, type) or not callable(getattr(value, "state_dict", None)):
        raise TypeError(
            f"{name} must be None or an object with a state_dict(), e.g. {example}; got {check.describe(value)}"
        )
    return value


def _loader_generator(train_loader: Any) -> torch.Generator | None:
    generator = getattr(train_loader, "generator", None)
    return generator if isinstance(generator, torch.Generator) else None


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    epoch: int = 0,
    metrics: Mapping[str, float] | None = None,
    *,
    scheduler: Any = None,
    scaler: Any = None,
    train_loader: Iterable | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save the training state to ``path`` atomically; returns the path.

    model: its state_dict is saved. optimizer (default None), scheduler (an LR scheduler, default None) and
    scaler (a torch.amp.GradScaler, default None): their state_dicts are saved when given.
    epoch: the last finished epoch (an integer >= 0, default 0). metrics: name -> number (default none);
    NumPy numbers and one-element tensors are converted to float so the file loads with weights_only=True.
    train_loader: a DataLoader built with generator=...; its shuffle state is saved (default None).
    extra: plain data of your own (numbers, strings, lists, dicts, tensors), stored as checkpoint["extra"].
    The random generators (torch's CPU generator, and CUDA's when in use) are always saved;
    ``load_checkpoint(..., restore_rng=True)`` restores them.
    """
    path = check.path_like("path", path)
    check.module("model", model)
    if optimizer is not None:
        check.optimizer("optimizer", optimizer)
    epoch = check.non_negative_int("epoch", epoch)
    if metrics is not None and not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a dict of name -> number, got {check.describe(metrics)}")
    plain_metrics = {str(k): check.real(f"metrics[{k!r}]", v) for k, v in (metrics or {}).items()}
    _has_state_dict("scheduler", scheduler, "torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)")
    _has_state_dict("scaler", scaler, "torch.amp.GradScaler()")
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError(f"extra must be a dict of plain data, got {check.describe(extra)}")
    generator = _loader_generator(train_loader)
    checkpoint = {
        "format": FORMAT,
        "model": plain_model(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "epoch": epoch,
        "metrics": plain_metrics,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
            "train_loader": generator.get_state() if generator is not None else None,
        },
        "classes": {
            name: (type(obj).__name__ if obj is not None else None)
            for name, obj in (
                ("model", plain_model(model)),
                ("optimizer", optimizer),
                ("scheduler", scheduler),
                ("scaler", scaler),
            )
        },
        "extra": dict(extra or {}),
    }
    _check_plain(checkpoint, "checkpoint")
    return atomic_save(checkpoint, path)


# ---- reading -------------------------------------------------------------------------------------------


def _refused_global_error(path: Path, err: Exception) -> CheckpointError:
    """A clear message for a file that weights_only=True refuses, naming the refused global."""
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    name = found.group(1) if found else "an object"
    module_name, _, class_name = name.rpartition(".")
    resolved = getattr(sys.modules.get(module_name), class_name, None)
    whole_model = (isinstance(resolved, type) and issubclass(resolved, nn.Module)) or module_name.startswith(
        "torch.nn.modules"
    )
    if whole_model:
        return CheckpointError(
            f"{path} holds a whole pickled model ({name}), saved with torch.save(model), not a state_dict; "
            "weights_only=True refuses to rebuild it because unpickling can run any code. If you trust the "
            "file, load it once with torch.load(path, weights_only=False) and save its state_dict "
            "(or use helpers.save_checkpoint); load state_dicts from now on"
        )
    return CheckpointError(
        f"{path} holds a {name} object, which torch.load(weights_only=True) refuses to rebuild (it is not a "
        "tensor or plain Python data; a whole model saved with torch.save(model) also ends here). "
        f"Only for a file you trust: load it inside `with torch.serialization.safe_globals([{name}]):`; "
        "better, save plain floats/ints (float(x)) or a state_dict instead"
    )


def _read(path: Path, map_location: Any) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" in str(err) or "GLOBAL" in str(err):
            raise _refused_global_error(path, err) from err
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is corrupt or not a PyTorch checkpoint ({type(err).__name__}); "
            "an interrupted copy or download is the usual cause: copy it again or use an older checkpoint"
        ) from err
    except Exception as err:
        text = str(err)
        if "CUDA" in text and ("deserialize" in text or "not available" in text or "is_available" in text):
            raise CheckpointError(
                f"{path} holds tensors saved on a GPU, and this machine has no CUDA: load it with "
                "map_location='cpu'"
            ) from err
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is corrupt or not a PyTorch checkpoint ({type(err).__name__}); "
            "an interrupted copy or download is the usual cause: copy it again or use an older checkpoint"
        ) from err


def _check_fits(model: nn.Module, state: Any, path: Path) -> None:
    """Raise CheckpointError naming missing/unexpected keys or mismatched shapes."""
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path}: the 'model' entry must be a state_dict (a dict of name -> tensor), got "
            f"{check.describe(state)}; save it with save_checkpoint(path, model)"
        )
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
            + " (was it saved from a different architecture? build the model with the same arguments as "
            "when saving)"
        )


def _check_class(checkpoint: Mapping, part: str, obj: Any, path: Path) -> None:
    saved = (
        checkpoint.get("classes", {}).get(part) if isinstance(checkpoint.get("classes"), Mapping) else None
    )
    if saved is not None and saved != type(obj).__name__:
        raise CheckpointError(
            f"{path} holds the state of a {saved} {part}, but a {type(obj).__name__} was given: build the same "
            f"kind of {part} as when saving"
        )


def _check_optimizer_fits(optimizer: torch.optim.Optimizer, state: Any, path: Path) -> None:
    if not isinstance(state, Mapping) or not isinstance(state.get("param_groups"), list):
        raise CheckpointError(f"{path}: the 'optimizer' entry is not an optimizer state_dict")
    saved_groups, groups = state["param_groups"], optimizer.param_groups
    if len(saved_groups) != len(groups):
        raise CheckpointError(
            f"{path} holds an optimizer with {len(saved_groups)} parameter group(s), but the optimizer given "
            f"has {len(groups)}: build it as when saving"
        )
    params_by_id: dict[Any, torch.Tensor] = {}
    for i, (saved, group) in enumerate(zip(saved_groups, groups)):
        if not isinstance(saved, Mapping) or len(saved.get("params", [])) != len(group["params"]):
            n_saved = len(saved.get("params", [])) if isinstance(saved, Mapping) else "?"
            raise CheckpointError(
                f"{path}: optimizer parameter group {i} holds {n_saved} parameters in the file but "
                f"{len(group['params'])} in the optimizer given (built for another model, or with other "
                "frozen parts?)"
            )
        params_by_id.update(zip(saved["params"], group["params"]))
    for key, values in (state.get("state") or {}).items():
        param = params_by_id.get(key)
        if param is None or not isinstance(values, Mapping):
            raise CheckpointError(
                f"{path}: the optimizer state refers to parameter {key!r}, which no group holds"
            )
        for name, value in values.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != param.shape:
                raise CheckpointError(
                    f"{path}: optimizer state {name!r} has shape {tuple(value.shape)} but its parameter has "
                    f"{tuple(param.shape)} (the optimizer was built for another architecture)"
                )


def _check_rng(checkpoint: Mapping, train_loader: Any, restore_rng: bool, path: Path) -> None:
    rng = checkpoint.get("rng")
    if restore_rng and not (isinstance(rng, Mapping) and isinstance(rng.get("torch"), torch.Tensor)):
        raise CheckpointError(
            f"{path} holds no random generator state (it was not written by this version of save_checkpoint); "
            "load it with restore_rng=False"
        )
    if train_loader is None:
        return
    saved = rng.get("train_loader") if isinstance(rng, Mapping) else None
    generator = _loader_generator(train_loader)
    if (saved is None) != (generator is None):
        raise CheckpointError(
            f"{path} and train_loader disagree about the shuffle generator: the file "
            f"{'holds no' if saved is None else 'holds a'} shuffle state, the loader was built "
            f"{'with' if generator is not None else 'without'} generator=...; build the DataLoader as when "
            "saving (and save with train_loader=...)"
        )


def load_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device | None = None,
    *,
    scheduler: Any = None,
    scaler: Any = None,
    train_loader: Iterable | None = None,
    restore_rng: bool = False,
) -> dict[str, Any]:
    """Load a checkpoint written by ``save_checkpoint`` into ``model`` (and optimizer, scheduler, scaler).

    map_location: where tensors go, e.g. "cpu" to open a GPU checkpoint on a laptop;
      None (default) uses the device of the model's parameters.
    optimizer, scheduler, scaler (default None): restored when given; the file must hold their state.
    train_loader: a DataLoader built with generator=...; its shuffle state is restored (default None).
    restore_rng: also restore torch's random generators, for an exact resume (default False).
    Returns the checkpoint dict (its "epoch" and "metrics" tell where training stopped).
    Raises CheckpointError for a missing, unreadable or mismatching file, saying what to do. Everything is
    checked before anything is changed: after a CheckpointError the model, optimizer, scheduler, scaler,
    loader and random generators are untouched.
    """
    path = check.path_like("path", path)
    check.module("model", model)
    if optimizer is not None:
        check.optimizer("optimizer", optimizer)
    _has_state_dict("scheduler", scheduler, "torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)")
    _has_state_dict("scaler", scaler, "torch.amp.GradScaler()")
    restore_rng = check.boolean("restore_rng", restore_rng)
    if map_location is None:
        first = next(model.parameters(), None)
        map_location = first.device if first is not None else torch.device("cpu")
    else:
        map_location = check.device_like("map_location", map_location)
        if map_location.type == "cuda" and not torch.cuda.is_available():
            raise CheckpointError(
                f"map_location={str(map_location)!r}, but this machine has no CUDA: use map_location='cpu'"
            )
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path} (working folder: {Path.cwd()})")
    if not path.is_file():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")

    checkpoint = _read(path, map_location)
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        bare = (
            isinstance(checkpoint, Mapping)
            and checkpoint
            and all(isinstance(v, torch.Tensor) for v in checkpoint.values())
        )
        hint = (
            " It holds a bare state_dict: load it with model.load_state_dict(torch.load(path, weights_only=True))"
            if bare
            else ""
        )
        raise CheckpointError(
            f"{path} is not a checkpoint from save_checkpoint: expected a dict with a 'model' key.{hint}"
        )
    # Check everything first ...
    model = plain_model(model)  # load into the model inside a torch.compile / DDP wrapper
    if isinstance(checkpoint["model"], Mapping):
        checkpoint["model"] = _without_wrapper_prefix(checkpoint["model"], model.state_dict())
    _check_fits(model, checkpoint["model"], path)
    epoch = checkpoint.get("epoch", 0)
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        raise CheckpointError(f"{path}: 'epoch' must be an int, got {check.describe(epoch)}")
    for part, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if obj is None:
            continue
        if checkpoint.get(part) is None:
            raise CheckpointError(
                f"{path} holds no {part} state, but a {part} was given: it was saved without {part}=...; "
                f"load it without the {part}, or save with save_checkpoint(..., {part}={part})"
            )
        _check_class(checkpoint, part, obj, path)
        if not isinstance(checkpoint[part], Mapping):
            raise CheckpointError(f"{path}: the {part!r} entry is not a state_dict")
    if optimizer is not None:
        _check_optimizer_fits(optimizer, checkpoint["optimizer"], path)
    _check_rng(checkpoint, train_loader, restore_rng, path)

    # ... then change.
    try:
        model.load_state_dict(checkpoint["model"])
        if optimizer is not None:
            optimizer.load_state_dict(checkpoint["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(checkpoint["scheduler"])
        if scaler is not None:
            scaler.load_state_dict(checkpoint["scaler"])
        rng = checkpoint.get("rng") or {}
        generator = _loader_generator(train_loader)
        if generator is not None:
            generator.set_state(rng["train_loader"].cpu())
        if restore_rng:
            torch.set_rng_state(rng["torch"].cpu())
            cuda_states = [s.cpu() for s in rng.get("cuda", [])]
            if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda_states)
    except Exception as err:  # not foreseen by the checks above
        raise CheckpointError(f"{path} could not be restored ({type(err).__name__}: {err})") from err
    return checkpoint
