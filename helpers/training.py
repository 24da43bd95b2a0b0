"""The training loop the lessons teach, written once, and the mistakes it catches for you.

One step is always: zero_grad -> forward -> loss -> backward -> step.
Training runs in ``model.train()`` mode; evaluation in ``model.eval()`` under ``torch.no_grad()``.

Before the first step, and on every batch where it costs nothing measurable, the loop checks what would
otherwise fail deep inside torch or, worse, train a wrong model without a word: the loss class passed
instead of an instance, an optimizer that holds none of the model's parameters, a frozen model, float64
features for a float32 model, targets whose dtype or shape do not suit the loss (class labels as floats or
``(N, 1)``, regression targets ``(N,)`` for outputs ``(N, 1)``), labels outside ``0..classes-1``, a loss that
became nan or inf, and a one-shot iterator that is empty after its first epoch.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from . import _validate as check
from . import distributed

History = dict[str, list[float]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# What a loss expects decides which targets are right for it (see _check_targets).
_CLASS_LOSSES = (nn.CrossEntropyLoss, nn.NLLLoss)
_BINARY_LOSSES = (nn.BCEWithLogitsLoss, nn.BCELoss)
_REGRESSION_LOSSES = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _float_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating-point parameter (None when it has none)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


def _length(loader: Iterable) -> int | None:
    """Number of batches, or None for a loader that cannot tell (e.g. over an IterableDataset)."""
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def _task(loss_fn: LossFn, targets: torch.Tensor) -> str:
    """'multiclass', 'binary', 'regression' or 'other', from the loss (or, for a custom loss, the targets)."""
    if isinstance(loss_fn, _CLASS_LOSSES):
        return "multiclass"
    if isinstance(loss_fn, _BINARY_LOSSES):
        return "binary"
    if isinstance(loss_fn, _REGRESSION_LOSSES):
        return "regression"
    if not targets.is_floating_point():
        return "multiclass"  # integer targets are class labels whatever the loss
    return "other"


def _split_batch(batch: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) from one batch; a clear error for batches without targets."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    got = f"a {type(batch).__name__}" + (
        f" of {len(batch)} items" if isinstance(batch, (tuple, list)) else ""
    )
    raise TypeError(
        f"{where} must yield (inputs, targets) pairs, got {got}: build it from a dataset of pairs, "
        "e.g. DataLoader(TensorDataset(X, y), batch_size=64) (helpers.predict also takes inputs only)"
    )


def _check_inputs(inputs: torch.Tensor, param_dtype: torch.dtype | None) -> None:
    """Float inputs must have the model's dtype (NumPy and scikit-learn make float64)."""
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"the loader's inputs must be tensors, got {check.describe(inputs)}")
    if param_dtype is not None and inputs.is_floating_point() and inputs.dtype != param_dtype:
        raise TypeError(
            f"the inputs are {inputs.dtype} but the model's parameters are {param_dtype} "
            "(NumPy and scikit-learn arrays are float64): convert the features once, e.g. X = X.float() "
            "or torch.tensor(X, dtype=torch.float32), before building the dataset"
        )


def _check_targets(task: str, loss_fn: LossFn, outputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Raise a clear error when outputs and targets cannot go together with this loss (cheap: no sync)."""
    loss_name = type(loss_fn).__name__
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"the loader's targets must be tensors, got {check.describe(targets)}")
    if not isinstance(outputs, torch.Tensor):
        raise TypeError(f"the model must return a tensor, got {check.describe(outputs)}")
    if outputs.dim() == 0 or targets.dim() == 0 or outputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"model returned {outputs.shape[0] if outputs.dim() else 'a scalar instead of'} outputs for a batch "
            f"of {targets.shape[0] if targets.dim() else 'one'} targets "
            f"(outputs {tuple(outputs.shape)}, targets {tuple(targets.shape)})"
        )
    if task == "multiclass":
        if targets.is_floating_point() and targets.shape == outputs.shape:
            return  # class probabilities (soft labels), which CrossEntropyLoss accepts
        if outputs.dim() < 2:
            raise ValueError(
                f"for class labels the model must return logits of shape (batch, classes), got "
                f"{tuple(outputs.shape)}; for two classes with one output use nn.BCEWithLogitsLoss()"
            )
        if targets.dtype not in (torch.int64, torch.uint8):
            raise TypeError(
                f"class labels must be integers of dtype torch.int64 for {loss_name}, got {targets.dtype} "
                f"targets of shape {tuple(targets.shape)}: convert them with y = y.long()"
            )
        expected = (outputs.shape[0], *outputs.shape[2:])  # one class index per output position
        if tuple(targets.shape) != expected:
            if targets.shape == outputs.shape and outputs.shape[1] > 1:
                raise ValueError(
                    f"the targets look one-hot encoded (integers of shape {tuple(targets.shape)}, the shape of "
                    f"the outputs): {loss_name} takes class indices, y = y.argmax(dim=1) "
                    "(or class probabilities as floats, y = y.float())"
                )
            shape = "(batch,)" if outputs.dim() == 2 else str(expected)
            flatten = (
                " flatten them with y = y.view(-1) (or y.squeeze(1))"
                if targets.numel() == expected[0]
                else ""
            )
            raise ValueError(
                f"class labels must have shape {shape}, one index per sample, got {tuple(targets.shape)}"
                + (":" + flatten if flatten else "")
            )
    elif task == "binary":
        if not targets.is_floating_point():
            raise TypeError(
                f"{loss_name} needs float targets (0.0 or 1.0), got {targets.dtype}: convert them with "
                "y = y.float()"
            )
        if targets.shape != outputs.shape:
            raise ValueError(
                f"{loss_name} needs targets of the same shape as the outputs, got outputs "
                f"{tuple(outputs.shape)} and targets {tuple(targets.shape)}: reshape the targets with "
                "y = y.view_as(outputs) (for one logit per sample: y.float().unsqueeze(1))"
            )
    elif task == "regression":
        # under autocast (fit's amp=) the outputs are bfloat16/float16 and float32 targets are right
        low_precision = outputs.dtype in (torch.bfloat16, torch.float16) and targets.dtype == torch.float32
        if not targets.is_floating_point() or (targets.dtype != outputs.dtype and not low_precision):
            raise TypeError(
                f"regression targets must have the dtype of the outputs ({outputs.dtype}), got {targets.dtype}: "
                f"convert them with y = y.to({str(outputs.dtype).replace('torch.', 'torch.')}) "
                "(y.float() for float32)"
            )
        if targets.shape != outputs.shape:
            raise ValueError(
                f"{loss_name} needs targets of the same shape as the outputs, got outputs "
                f"{tuple(outputs.shape)} and targets {tuple(targets.shape)}; the loss would broadcast them to "
                "every pair and train a model that predicts the mean: reshape the targets, e.g. "
                "y = y.view(-1, 1) for a model with one output"
            )


def _explain_forward_error(err: RuntimeError, inputs: torch.Tensor) -> Exception | None:
    """A clearer error for the two most common reasons a model refuses a batch (None: keep torch's)."""
    message = str(err)
    if not inputs.is_floating_point() and ("dtype" in message or "scalar type" in message):
        return TypeError(
            f"the inputs are {inputs.dtype} but the model computes with floats: convert the features once, "
            "e.g. X = X.float(), before building the dataset (integer inputs are only for nn.Embedding); "
            f"torch said: {message}"
        )
    if "shapes cannot be multiplied" in message or "size of tensor a" in message:
        features = math.prod(inputs.shape[1:])
        return ValueError(
            f"the model cannot process inputs of shape {tuple(inputs.shape)} ({features} features per sample "
            "once flattened): the first layer's in_features (or the input shape the model expects) must "
            f"match the data; torch said: {message}"
        )
    return None


def _check_outputs_suit_loss(model: nn.Module, loss_fn: LossFn, outputs: torch.Tensor) -> None:
    """First batch only: warn when the outputs look already squashed for a loss that squashes them itself."""
    if outputs.dim() != 2 or outputs.shape[0] < 4 or not outputs.is_floating_point():
        return
    out = outputs.detach().float()
    if isinstance(loss_fn, nn.CrossEntropyLoss) and outputs.shape[1] > 1:
        if bool((out >= 0).all()) and torch.allclose(out.sum(dim=1), torch.ones(len(out)), atol=1e-3):
            warnings.warn(
                "the model's outputs look like probabilities (every row is >= 0 and sums to 1), but "
                "CrossEntropyLoss expects raw logits and applies log_softmax itself: remove the final "
                "nn.Softmax from the model (apply softmax only when you want probabilities to look at)",
                UserWarning,
                stacklevel=4,
            )
    elif isinstance(loss_fn, nn.NLLLoss) and bool((out > 0).any()):
        warnings.warn(
            "NLLLoss expects log-probabilities (every output <= 0, e.g. from nn.LogSoftmax(dim=1)), but the "
            "model's outputs include positive values, so they look like raw logits: use nn.CrossEntropyLoss() "
            "on logits, or end the model with nn.LogSoftmax(dim=1)",
            UserWarning,
            stacklevel=4,
        )
    elif isinstance(loss_fn, nn.BCEWithLogitsLoss):
        # Raw logits can all be small and positive by chance, so only a model that ends in nn.Sigmoid counts.
        last = list(model.modules())[-1]
        if isinstance(last, nn.Sigmoid) and bool(((out >= 0) & (out <= 1)).all()):
            warnings.warn(
                "the model ends with nn.Sigmoid, but BCEWithLogitsLoss expects raw logits and applies the "
                "sigmoid itself: remove the final nn.Sigmoid (or use nn.BCELoss on probabilities)",
                UserWarning,
                stacklevel=4,
            )


def _check_label_range(labels: torch.Tensor, num_classes: int, ignore_index: int | None = None) -> None:
    """Labels must lie in [0, num_classes), apart from the loss's ``ignore_index`` (CrossEntropyLoss: -100).

    Called with a CPU tensor, so it costs no device sync.
    """
    if ignore_index is not None:
        labels = labels[labels != ignore_index]
        if labels.numel() == 0:
            return
    low, high = torch.aminmax(labels)
    lo, hi = int(low), int(high)
    if lo < 0 or hi >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}] for a model with {num_classes} outputs, "
            f"got labels from {lo} to {hi}: give the model's last layer as many outputs as there are "
            "classes, and number the classes from 0"
        )


def _check_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """The optimizer must hold some trainable parameter of this very model object."""
    params = list(model.parameters())
    if not params:
        raise ValueError(f"the model ({type(model).__name__}) has no parameters to train")
    trainable = [p for p in params if p.requires_grad]
    if not trainable:
        raise ValueError(
            f"every parameter of the model ({type(model).__name__}) is frozen (requires_grad=False), so "
            "training cannot change it: unfreeze the part to train, e.g. model.fc.requires_grad_(True)"
        )
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if not any(id(p) in held for p in trainable):
        if any(id(p) in held for p in params):
            raise ValueError(
                "the optimizer holds only frozen parameters of this model (requires_grad=False): build it "
                "from the trainable ones, e.g. torch.optim.Adam(model.fc.parameters(), lr=1e-3)"
            )
        raise ValueError(
            "the optimizer holds none of this model's parameters, so training would never change the "
            "model: it was built for another model object (re-running the cell that creates the model "
            "makes a new one). Create the optimizer again after the model, e.g. "
            "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)"
        )


def _check_parameters_moved(model: nn.Module, before: list[torch.Tensor], epoch: int) -> None:
    """After the first epoch of fit: warn when no trainable parameter changed (training does nothing)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    if all(torch.equal(p.detach(), b) for p, b in zip(trainable, before)):
        warnings.warn(
            f"after epoch {epoch} no parameter of the model has changed, so training does nothing: is the "
            "learning rate 0, is the loss cut off from the model (computed from .item(), .detach() or under "
            "torch.no_grad()), or are all gradients zero?",
            RuntimeWarning,
            stacklevel=3,
        )


def _check_unused_outputs(largest_label: int, outputs: int, where: str) -> None:
    """Warn when a classifier has more outputs than the labels of a whole training epoch use."""
    if largest_label + 1 < outputs:
        warnings.warn(
            f"the model has {outputs} outputs (classes) but the labels of {where} only use classes "
            f"0..{largest_label}: if your data has {largest_label + 1} classes, build the model with that many "
            f"outputs (helpers.MLP(..., out_features={largest_label + 1}), "
            f"helpers.SmallCNN(..., num_classes={largest_label + 1})); the extra outputs only take probability "
            "away from the real classes",
            UserWarning,
            stacklevel=4,
        )


def _correct(task: str, loss_fn: LossFn, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None:
    """Number of correct predictions in a batch (a device tensor: no sync), or None without accuracy."""
    if task == "multiclass":
        truth = targets.argmax(dim=1) if targets.is_floating_point() else targets
        return (outputs.argmax(dim=1) == truth).sum()
    if task == "binary":
        threshold = 0.5 if isinstance(loss_fn, nn.BCELoss) else 0.0  # probabilities vs logits
        return ((outputs > threshold) == (targets > 0.5)).sum()
    return None


def _nonfinite_error(
    loss: float, where: str, batch: int, epoch: int | None, training: bool
) -> FloatingPointError:
    place = f"batch {batch}" + (f" of epoch {epoch}" if epoch is not None else "")
    advice = (
        "lower the learning rate (e.g. 10x), check the data for nan/inf (torch.isfinite(X).all()), "
        "standardise the features, or clip the gradients (torch.nn.utils.clip_grad_norm_)"
    )
    if not training:
        advice = (
            "the model's weights may already be nan/inf (check with torch.isfinite(p).all()), or the data"
        )
    return FloatingPointError(f"the {where} loss became {loss} at {place}: {advice}")


def _run_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer | None,
    progress: bool,
    desc: str,
    max_steps: int | None = None,
    epoch: int | None = None,
    amp: torch.dtype | None = None,
    non_blocking: bool = False,
    scaler: torch.amp.GradScaler | None = None,
    net: Callable[[torch.Tensor], torch.Tensor] | None = None,
    watch_labels: bool = True,
) -> tuple[float, float]:
    """Shared body of train_one_epoch and evaluate: returns (mean loss, accuracy or nan).

    amp: run forward and loss under torch.autocast with this dtype (None: full precision).
    scaler: a GradScaler for float16 training (None: plain backward and step).
    net: what to call for the forward pass (a torch.compile'd model); default ``model`` itself.
    watch_labels: when training on class labels, warn if the whole epoch leaves some of the model's outputs
    unused (a model built for 10 classes trained on 3).
    """
    device = model_device(model)
    net = model if net is None else net
    autocast = (lambda: torch.autocast(device.type, dtype=amp)) if amp is not None else contextlib.nullcontext
    param_dtype = _float_dtype(model)
    on_cpu = device.type == "cpu"
    batch_losses: list[torch.Tensor] = []  # stay on the device: no sync per batch
    batch_sizes: list[int] = []
    correct = torch.zeros((), device=device, dtype=torch.long)
    judged, task = 0, "other"
    training = optimizer is not None
    largest_label: torch.Tensor | None = None  # training on class labels: do they use every output?
    total = _length(loader)
    total = min(total, max_steps) if total is not None and max_steps is not None else total or max_steps
    # A bar updated by hand: wrapping the loader in tqdm(...) would call iter() on it an extra time,
    # which draws from a seeded shuffle generator and changes the batch order.
    bar = tqdm(total=total, desc=desc, leave=False) if progress else None
    for i, batch in enumerate(loader):
        inputs, targets = _split_batch(batch, "the data loader")
        _check_inputs(inputs, param_dtype)
        labels_on_cpu = isinstance(targets, torch.Tensor) and targets.device.type == "cpu"
        inputs = inputs.to(device, non_blocking=non_blocking)
        targets = targets.to(device, non_blocking=non_blocking)
        if optimizer is not None:
            optimizer.zero_grad()
        try:
            with autocast():
                outputs = net(inputs)
        except RuntimeError as err:
            clearer = _explain_forward_error(err, inputs)
            if clearer is None:
                raise
            raise clearer from err
        if i == 0:
            task = _task(loss_fn, targets)
        _check_targets(task, loss_fn, outputs, targets)
        if i == 0 and training and watch_labels:
            _check_outputs_suit_loss(model, loss_fn, outputs)
        class_labels = task == "multiclass" and not targets.is_floating_point()
        if watch_labels and training and class_labels and targets.numel():
            top = targets.max()  # stays on the device: no sync per batch
            largest_label = top if largest_label is None else torch.maximum(largest_label, top)
        if class_labels and not on_cpu and (labels_on_cpu or i == 0):
            # On a GPU an out-of-range label is a fatal device-side assert: check the CPU copy first.
            _check_label_range(
                batch[1] if labels_on_cpu else targets.cpu(),
                outputs.shape[1],
                getattr(loss_fn, "ignore_index", None),
            )
        try:
            with autocast():
                loss = loss_fn(outputs, targets)
        except (IndexError, RuntimeError):
            if class_labels:  # on the CPU torch refuses out-of-range labels: say which and what to do
                _check_label_range(targets, outputs.shape[1], getattr(loss_fn, "ignore_index", None))
            raise
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(
                f"loss_fn must return one number (a 0-dim tensor), got {check.describe(loss)}; "
                "a loss built with reduction='none' returns one value per sample: use the default 'mean'"
            )
        if on_cpu and not math.isfinite(loss.item()):  # on the CPU .item() is cheap: stop at once
            raise _nonfinite_error(loss.item(), desc, i + 1, epoch, training)
        if optimizer is not None and scaler is not None:
            scaler.scale(loss).backward()  # float16: scale the loss up so small gradients do not underflow
            scaler.step(optimizer)  # unscales, and skips the step if a gradient is inf/nan
            scaler.update()
        elif optimizer is not None:
            loss.backward()
            optimizer.step()
        batch_losses.append(loss.detach())
        batch_sizes.append(targets.shape[0])
        hits = _correct(task, loss_fn, outputs, targets)
        if hits is not None:
            correct += hits
            judged += targets.numel()
        if bar is not None:
            bar.update()
        if max_steps is not None and i + 1 >= max_steps:
            break
    if bar is not None:
        bar.close()
    if not batch_losses:
        used_up = ""
        if isinstance(loader, Iterator):
            used_up = (
                " It is an iterator that may be used up already: pass the DataLoader itself, "
                "which starts over every epoch."
            )
        raise ValueError(
            "the data loader yielded no batches: expected at least one (is the dataset empty, "
            "or drop_last=True with fewer samples than batch_size?)" + used_up
        )
    losses = torch.stack(batch_losses).double().cpu()  # the one sync of the epoch
    finite = torch.isfinite(losses)
    if not bool(finite.all()):
        first_bad = int((~finite).nonzero()[0])
        raise _nonfinite_error(float(losses[first_bad]), desc, first_bad + 1, epoch, training)
    if largest_label is not None and max_steps is None and getattr(loss_fn, "ignore_index", -1) < 0:
        _check_unused_outputs(
            int(largest_label), outputs.shape[1], "this epoch" if epoch is None else f"epoch {epoch}"
        )
    sizes = torch.tensor(batch_sizes, dtype=torch.float64)
    accuracy = correct.item() / judged if judged else math.nan
    return float((losses * sizes).sum() / sizes.sum()), accuracy


def _check_loop_arguments(model: Any, loader: Any, loss_fn: Any, name: str = "loader") -> None:
    check.module("model", model)
    check.loader(name, loader)
    check.loss_function("loss_fn", loss_fn)


def _check_amp(amp: Any) -> torch.dtype | None:
    """amp must be None, torch.bfloat16 or torch.float16."""
    if amp is None or amp in (torch.bfloat16, torch.float16):
        return amp
    raise TypeError(
        "amp must be None (full precision), torch.bfloat16 or torch.float16 (mixed precision under "
        f"torch.autocast), got {check.describe(amp)}"
    )


def _make_scaler(amp: torch.dtype | None, device: torch.device) -> torch.amp.GradScaler | None:
    """float16 needs loss scaling so small gradients do not underflow; bfloat16 has float32's range."""
    return torch.amp.GradScaler(device.type) if amp == torch.float16 else None


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    progress: bool = False,
    max_steps: int | None = None,
    *,
    amp: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
    non_blocking: bool = False,
) -> tuple[float, float]:
    """Train ``model`` for one pass over ``loader``.

    loader: yields (inputs, targets) batches; they are moved to the model's device.
    loss_fn: a loss instance such as nn.CrossEntropyLoss() (class labels), nn.BCEWithLogitsLoss() (one logit
    per binary label) or nn.MSELoss() (regression), or any function (outputs, targets) -> loss.
    progress: show a tqdm bar (default False). max_steps: stop after this many batches (default None: the
    whole loader; set it for an endless stream).
    amp: None (default, full precision), torch.bfloat16 or torch.float16: forward and loss run under
    ``torch.autocast(device_type, dtype=amp)`` (Chapter 9). scaler: a ``torch.amp.GradScaler`` to scale
    float16 losses (default None; pass the same one every epoch). non_blocking: copy batches to the device
    with ``non_blocking=True`` (default False; it overlaps copies only from pinned memory to a GPU).
    Returns (mean training loss per sample, accuracy in [0, 1]); accuracy is nan for regression targets.
    Raises FloatingPointError when the loss becomes nan or inf, and a TypeError/ValueError naming the fix
    for targets or inputs that do not suit the loss and the model.
    """
    if optimizer is None:
        raise ValueError("train_one_epoch needs an optimizer, got None")
    _check_loop_arguments(model, loader, loss_fn)
    check.optimizer("optimizer", optimizer)
    check.boolean("progress", progress)
    max_steps = check.optional_positive_int("max_steps", max_steps)
    amp = _check_amp(amp)
    if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
        raise TypeError(f"scaler must be a torch.amp.GradScaler or None, got {check.describe(scaler)}")
    check.boolean("non_blocking", non_blocking)
    _check_optimizer(model, optimizer)
    model.train()
    return _run_epoch(
        model, loader, loss_fn, optimizer, progress, "train", max_steps,
        amp=amp, non_blocking=non_blocking, scaler=scaler,
    )  # fmt: skip


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    progress: bool = False,
    max_steps: int | None = None,
    *,
    amp: torch.dtype | None = None,
    non_blocking: bool = False,
) -> tuple[float, float]:
    """Evaluate ``model`` on ``loader`` in eval mode without tracking gradients.

    progress: show a tqdm bar (default False). max_steps: stop after this many batches (default None).
    amp: None (default), torch.bfloat16 or torch.float16: run under torch.autocast with that dtype.
    non_blocking: copy batches with ``non_blocking=True`` (default False).
    Returns (mean loss per sample, accuracy in [0, 1]; nan for regression targets).
    """
    _check_loop_arguments(model, loader, loss_fn)
    check.boolean("progress", progress)
    max_steps = check.optional_positive_int("max_steps", max_steps)
    amp = _check_amp(amp)
    check.boolean("non_blocking", non_blocking)
    model.eval()
    return _run_epoch(
        model, loader, loss_fn, None, progress, "validation", max_steps, amp=amp, non_blocking=non_blocking
    )


def _step_scheduler(scheduler: Any, val_loss: float) -> None:
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss)
    else:
        scheduler.step()


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    scheduler: Any = None,
    checkpoint_path: str | Path | None = None,
    last_checkpoint_path: str | Path | None = None,
    resume_from: str | Path | None = None,
    patience: int | None = None,
    max_steps: int | None = None,
    amp: torch.dtype | None = None,
    non_blocking: bool = False,
    compile: bool = False,
    progress: bool = True,
    verbose: bool = True,
) -> History:
    """Train until epoch ``epochs``, validating after each epoch.

    epochs: the number of the last epoch to train (an integer >= 1); when resuming, training continues
      from the epoch after the saved one up to ``epochs``, so ``fit(..., epochs=4, resume_from=path)`` after
      a run that stopped at epoch 2 trains epochs 3 and 4.
    scheduler: an LR scheduler stepped once per epoch, after validation (ReduceLROnPlateau gets the
      validation loss). Default None.
    checkpoint_path: if given, the best model so far (lowest validation loss) is saved there atomically,
      with optimizer and scheduler state. Default None.
    last_checkpoint_path: if given, the complete training state (model, optimizer, scheduler, history,
      random generators, shuffle order) is saved there after every epoch, for ``resume_from``. Default None.
    resume_from: a file written by ``last_checkpoint_path``: restores all of that state first and continues,
      so 2 + 2 epochs give the same parameters as 4 uninterrupted ones (bit for bit on the CPU). Default None.
    patience: stop early after this many epochs without a better validation loss. Default None (never).
    max_steps: at most this many batches per training and per validation pass (default None: whole loaders).
    amp: mixed precision (Chapter 9), off by default (None). torch.bfloat16 runs forward and loss under
      ``torch.autocast(device_type, dtype=torch.bfloat16)`` (CPU or GPU; no scaling needed);
      torch.float16 also scales the loss with a ``torch.amp.GradScaler`` (meant for CUDA GPUs), whose state
      the checkpoints hold.
    non_blocking: copy each batch with ``.to(device, non_blocking=True)`` (default False). It overlaps the copy
      with computation only from pinned memory to a GPU: build the loader with ``pin_memory=True``.
    compile: train and validate through ``torch.compile(model)`` (default False). The first epoch pays the
      compilation (seconds to minutes); checkpoints hold the plain model's weights (no ``_orig_mod.`` prefix).
    progress: show a tqdm progress bar per epoch (default True). verbose: print one line per epoch
      (default True).
    Returns a history dict of lists, one value per epoch: train_loss, train_acc, val_loss, val_acc
      (including the epochs before a resume).
    Raises FloatingPointError naming the epoch and batch when a loss becomes nan or inf (nothing is saved
    then), and CheckpointError when resume_from cannot be used.

    Inside a torchrun script (see ``helpers.distributed``) fit works unchanged: it calls ``set_epoch`` on a
    ``DistributedSampler``, averages each metric over the processes (so every rank gets the same history and
    makes the same early-stopping decision), and prints, shows progress and saves checkpoints on rank 0 only
    (the plain model's state, without DDP's ``module.`` prefix).
    """
    check.module("model", model)
    check.loader("train_loader", train_loader)
    if val_loader is not None:
        check.loader("val_loader", val_loader)
    check.loss_function("loss_fn", loss_fn)
    check.optimizer("optimizer", optimizer)
    epochs = check.positive_int("epochs", epochs)
    patience = check.optional_positive_int("patience", patience)
    max_steps = check.optional_positive_int("max_steps", max_steps)
    amp = _check_amp(amp)
    check.boolean("non_blocking", non_blocking)
    check.boolean("compile", compile)
    check.boolean("progress", progress)
    check.boolean("verbose", verbose)
    paths = {}
    for name, given in (("checkpoint_path", checkpoint_path), ("last_checkpoint_path", last_checkpoint_path)):
        if given is not None:
            paths[name] = check.path_like(name, given)
    if isinstance(scheduler, type):
        raise TypeError(
            f"scheduler must be a scheduler object, got the class {scheduler.__name__}: create it with your "
            f"optimizer, e.g. torch.optim.lr_scheduler.{scheduler.__name__}(optimizer, ...)"
        )
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(
            f"scheduler must be a learning-rate scheduler such as torch.optim.lr_scheduler.StepLR(optimizer, "
            f"step_size=10), got {check.describe(scheduler)}"
        )
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if (checkpoint_path is not None or patience is not None or plateau) and val_loader is None:
        raise ValueError(
            "checkpoint_path, patience and ReduceLROnPlateau need a val_loader to judge the best epoch, got None"
        )
    for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
        if isinstance(loader, Iterator) and epochs > 1:
            raise TypeError(
                f"{name} is a one-shot iterator ({type(loader).__name__}): it would be empty after the first "
                "epoch. Pass the DataLoader itself (not iter(loader) or a generator); it starts over every epoch"
            )
    _check_optimizer(model, optimizer)

    main = distributed.is_main_process()  # rank 0, or the only process
    progress, verbose = progress and main, verbose and main
    plain = model.module if isinstance(model, DistributedDataParallel) else model  # what checkpoints hold
    net = torch.compile(model) if compile else model  # shares the model's parameters
    scaler = _make_scaler(amp, model_device(model))

    history: History = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best_loss, bad_epochs, start = math.inf, 0, 1
    if resume_from is not None:
        from .checkpoint import load_checkpoint

        state = load_checkpoint(
            resume_from,
            plain,
            optimizer,
            scheduler=scheduler,
            scaler=scaler,
            train_loader=train_loader,
            restore_rng=True,
        )
        saved = state.get("extra", {}).get("fit", {})
        history = {key: list(saved.get("history", {}).get(key, [])) for key in history}
        best_loss, bad_epochs = saved.get("best_val_loss", math.inf), saved.get("bad_epochs", 0)
        start = state["epoch"] + 1
        if verbose:
            print(f"resumed from {resume_from}: epoch {state['epoch']} done, continuing with epoch {start}")

    # A snapshot to notice a run in which nothing learns (checked once, after the first epoch of this call).
    snapshot: list[torch.Tensor] | None = [p.detach().clone() for p in model.parameters() if p.requires_grad]
    for epoch in range(start, epochs + 1):
        began = time.perf_counter()
        sampler = getattr(train_loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)  # a new shuffle every epoch, the same on every process
        model.train()
        train_loss, train_acc = _run_epoch(
            model, train_loader, loss_fn, optimizer, progress, "train", max_steps, epoch,
            amp=amp, non_blocking=non_blocking, scaler=scaler, net=net,
            watch_labels=epoch == start,  # once per call is enough
        )  # fmt: skip
        val_loss, val_acc = math.nan, math.nan
        if val_loader is not None:
            model.eval()
            with torch.no_grad():
                val_loss, val_acc = _run_epoch(
                    model, val_loader, loss_fn, None, False, "validation", max_steps, epoch,
                    amp=amp, non_blocking=non_blocking, net=net,
                )  # fmt: skip
        if snapshot is not None:
            _check_parameters_moved(model, snapshot, epoch)
            snapshot = None
        if distributed.is_distributed():  # every process reports the mean over all of them
            train_loss, train_acc, val_loss, val_acc = (
                float(distributed.all_reduce_mean(v)) for v in (train_loss, train_acc, val_loss, val_acc)
            )
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if scheduler is not None:
            _step_scheduler(scheduler, val_loss)
        if verbose:
            print(
                f"epoch {epoch:>{len(str(epochs))}}/{epochs}  train loss {train_loss:.4f} acc {train_acc:6.1%}  "
                f"val loss {val_loss:.4f} acc {val_acc:6.1%}  ({time.perf_counter() - began:.1f} s)"
            )
        improved = val_loader is not None and val_loss < best_loss
        if improved:
            best_loss, bad_epochs = val_loss, 0
        else:
            bad_epochs += 1
        for name, path in paths.items():
            if name == "checkpoint_path" and not improved:
                continue
            if main:
                _save_fit_state(
                    path,
                    plain,
                    optimizer,
                    scheduler,
                    scaler,
                    train_loader,
                    epoch,
                    history,
                    best_loss,
                    bad_epochs,
                )
        if paths and distributed.is_distributed():
            torch.distributed.barrier()  # no rank reads a checkpoint before rank 0 has written it
        if patience is not None and bad_epochs >= patience:
            if verbose:
                print(f"early stop: no better validation loss for {patience} epochs")
            break
    return history


def _save_fit_state(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: torch.amp.GradScaler | None,
    train_loader: Iterable,
    epoch: int,
    history: History,
    best_loss: float,
    bad_epochs: int,
) -> None:
    from .checkpoint import save_checkpoint

    save_checkpoint(
        path,
        model,
        optimizer,
        epoch=epoch,
        metrics={key: values[-1] for key, values in history.items()},
        scheduler=scheduler,
        scaler=scaler,
        train_loader=train_loader,
        extra={"fit": {"history": history, "best_val_loss": best_loss, "bad_epochs": bad_epochs}},
    )


@torch.no_grad()
def predict(
    model: nn.Module, loader: Iterable, task: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Predictions for every batch of ``loader``, in eval mode: returns (predictions, targets) on the CPU.

    loader: yields (inputs, targets) pairs, or inputs alone (a tensor or a 1-tuple); targets is None then.
    task: how outputs become predictions (default "auto"):
      "multiclass": the index of the largest logit (int64, shape (N,));
      "binary": 1 where the single logit is > 0, else 0 (int64, shape of the output, e.g. (N, 1));
      "regression": the outputs themselves;
      "auto": "multiclass" for outputs with 2 or more columns, "regression" (the raw outputs) otherwise.
    """
    check.module("model", model)
    check.loader("loader", loader)
    check.one_of("task", task, ("auto", "multiclass", "binary", "regression"))
    model.eval()
    device = model_device(model)
    param_dtype = _float_dtype(model)
    preds, trues = [], []
    for batch in loader:
        if isinstance(batch, torch.Tensor):
            inputs, targets = batch, None
        elif isinstance(batch, (tuple, list)) and len(batch) in (1, 2):
            inputs, targets = batch[0], (batch[1] if len(batch) == 2 else None)
        else:
            raise TypeError(
                f"loader must yield inputs or (inputs, targets) pairs, got {check.describe(batch)}"
            )
        _check_inputs(inputs, param_dtype)
        outputs = model(inputs.to(device))
        kind = task
        if kind == "auto":
            kind = "multiclass" if outputs.dim() >= 2 and outputs.shape[1] >= 2 else "regression"
        if kind == "multiclass":
            if outputs.dim() < 2 or outputs.shape[1] < 2:
                raise ValueError(
                    f"task='multiclass' needs outputs of shape (batch, classes) with 2 or more classes, got "
                    f"{tuple(outputs.shape)}; for one logit per sample use task='binary'"
                )
            outputs = outputs.argmax(dim=1)
        elif kind == "binary":
            outputs = (outputs > 0).long()
        preds.append(outputs.cpu())
        if targets is not None:
            trues.append(targets.cpu() if isinstance(targets, torch.Tensor) else torch.as_tensor(targets))
    if not preds:
        raise ValueError("the data loader yielded no batches: expected at least one")
    return torch.cat(preds), (torch.cat(trues) if len(trues) == len(preds) else None)
