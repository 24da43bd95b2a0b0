"""The training loop the lessons teach, written once.

One step is always: zero_grad -> forward -> loss -> backward -> step.
Training runs in ``model.train()`` mode; evaluation in ``model.eval()`` under ``torch.no_grad()``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from . import distributed

History = dict[str, list[float]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _length(loader: Iterable) -> int | None:
    """Number of batches, or None for a loader that cannot tell (e.g. over an IterableDataset)."""
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def _check_batch(outputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Raise a clear error when outputs and targets cannot go together (checked on a loader's first batch)."""
    if outputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"model returned {outputs.shape[0]} outputs for a batch of {targets.shape[0]} targets "
            f"(outputs {tuple(outputs.shape)}, targets {tuple(targets.shape)})"
        )
    if not targets.is_floating_point():  # class labels
        if outputs.dim() != 2:
            raise ValueError(
                f"for class labels the model must return logits of shape (batch, classes), got {tuple(outputs.shape)}"
            )
        lo, hi = int(targets.min()), int(targets.max())
        if lo < 0 or hi >= outputs.shape[1]:
            raise ValueError(
                f"labels must lie in [0, {outputs.shape[1] - 1}] for a model with {outputs.shape[1]} outputs, "
                f"got labels from {lo} to {hi}"
            )


def _run_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer | None,
    progress: bool,
    desc: str,
) -> tuple[float, float]:
    """Shared body of train_one_epoch and evaluate: returns (mean loss, accuracy or nan)."""
    device = model_device(model)
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, classification = 0, True
    # A bar updated by hand: wrapping the loader in tqdm(...) would call iter() on it an extra time,
    # which draws from a seeded shuffle generator and changes the batch order.
    bar = tqdm(total=_length(loader), desc=desc, leave=False) if progress else None
    for i, (inputs, targets) in enumerate(loader):
        inputs, targets = inputs.to(device), targets.to(device)
        if optimizer is not None:
            optimizer.zero_grad()
        outputs = model(inputs)
        if i == 0:
            _check_batch(outputs, targets)
            classification = not targets.is_floating_point()
        loss = loss_fn(outputs, targets)
        if optimizer is not None:
            loss.backward()
            optimizer.step()
        n = targets.shape[0]
        total_loss += loss.detach() * n  # stays on the device: no sync per batch
        if classification:
            correct += (outputs.argmax(dim=1) == targets).sum()
        seen += n
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    if seen == 0:
        raise ValueError(
            "the data loader yielded no batches: expected at least one (is the dataset empty, "
            "or drop_last=True with fewer samples than batch_size?)"
        )
    accuracy = correct.item() / seen if classification else math.nan
    return total_loss.item() / seen, accuracy


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    progress: bool = False,
) -> tuple[float, float]:
    """Train ``model`` for one pass over ``loader``.

    loader yields (inputs, targets); they are moved to the model's device.
    Returns (mean training loss per sample, accuracy in [0, 1]; nan for float targets).
    """
    if optimizer is None:
        raise ValueError("train_one_epoch needs an optimizer, got None")
    model.train()
    return _run_epoch(model, loader, loss_fn, optimizer, progress, "train")


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable, loss_fn: LossFn, progress: bool = False
) -> tuple[float, float]:
    """Evaluate ``model`` on ``loader`` in eval mode without tracking gradients.

    Returns (mean loss per sample, accuracy in [0, 1]; nan for float targets).
    """
    model.eval()
    return _run_epoch(model, loader, loss_fn, None, progress, "eval")


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    scheduler=None,
    checkpoint_path: str | Path | None = None,
    patience: int | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> History:
    """Train for ``epochs`` epochs, validating after each one.

    scheduler: an LR scheduler stepped once per epoch (ReduceLROnPlateau gets the validation loss).
    checkpoint_path: if given, the best model so far (lowest validation loss) is saved there atomically.
    patience: stop early after this many epochs without a better validation loss.
    progress: show a tqdm progress bar per epoch. verbose: print one line per epoch.
    Returns a history dict of lists, one value per epoch: train_loss, train_acc, val_loss, val_acc.

    Inside a torchrun script (see ``helpers.distributed``) fit works unchanged: it calls ``set_epoch`` on a
    ``DistributedSampler``, averages each metric over the processes (so every rank gets the same history and
    makes the same early-stopping decision), and prints, shows progress and saves checkpoints on rank 0 only.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be None or an int >= 1, got {patience!r}")
    if (checkpoint_path is not None or patience is not None) and val_loader is None:
        raise ValueError("checkpoint_path and patience need a val_loader to judge the best epoch")
    history: History = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best_loss, bad_epochs = math.inf, 0
    main = distributed.is_main_process()
    progress, verbose = progress and main, verbose and main
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        sampler = getattr(train_loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)  # a new shuffle every epoch, the same on every process
        train_loss, train_acc = train_one_epoch(model, train_loader, loss_fn, optimizer, progress)
        val_loss, val_acc = (
            evaluate(model, val_loader, loss_fn) if val_loader is not None else (math.nan, math.nan)
        )
        if distributed.is_distributed():  # every process reports the mean over all of them
            train_loss, train_acc, val_loss, val_acc = (
                float(distributed.all_reduce_mean(v)) for v in (train_loss, train_acc, val_loss, val_acc)
            )
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_loss)
            else:
                scheduler.step()
        if verbose:
            print(
                f"epoch {epoch:>{len(str(epochs))}}/{epochs}  train loss {train_loss:.4f} acc {train_acc:6.1%}  "
                f"val loss {val_loss:.4f} acc {val_acc:6.1%}  ({time.perf_counter() - start:.1f} s)"
            )
        if val_loader is not None and val_loss < best_loss:
            best_loss, bad_epochs = val_loss, 0
            if checkpoint_path is not None and main:
                from .checkpoint import save_checkpoint

                save_checkpoint(
                    checkpoint_path,
                    # unwrapped from DistributedDataParallel: plain parameter names, loadable without DDP
                    model.module if isinstance(model, DistributedDataParallel) else model,
                    optimizer,
                    epoch=epoch,
                    metrics={k: v[-1] for k, v in history.items()},
                )
            if checkpoint_path is not None and distributed.is_distributed():
                torch.distributed.barrier()  # no rank reads the checkpoint before rank 0 has written it
        else:
            bad_epochs += 1
            if patience is not None and bad_epochs >= patience:
                if verbose:
                    print(f"early stop: no better validation loss for {patience} epochs")
                break
    return history


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """Class predictions for every batch of ``loader``: returns (predicted labels, true labels) on the CPU."""
    model.eval()
    device = model_device(model)
    preds, trues = [], []
    for inputs, targets in loader:
        preds.append(model(inputs.to(device)).argmax(dim=1).cpu())
        trues.append(targets)
    if not preds:
        raise ValueError("the data loader yielded no batches")
    return torch.cat(preds), torch.cat(trues)
