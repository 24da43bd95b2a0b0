"""A layer-by-layer summary of a model: what every layer outputs and how many parameters it holds.

``summary(model, (1, 1, 28, 28))`` pushes one dummy batch through the model with forward hooks on its
layers, prints a table (layer name, type, output shape, parameters) and returns the rows, so a lesson can
assert on them. The forward pass runs in eval mode without gradients; afterwards the model's train/eval
flags are restored and its buffers (e.g. BatchNorm statistics) are unchanged. Every hook is removed,
also when the forward pass fails.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import _validate as check

Shape = tuple  # (2, 32, 14, 14) for a tensor; a tuple of shapes for tuple outputs such as an LSTM's


@dataclass(frozen=True)
class LayerInfo:
    """One row of a summary: one call of one layer during the forward pass."""

    name: str  # dotted path from model.named_modules(), e.g. "features.0"; "(model)" for the model itself
    kind: str  # class name, e.g. "Conv2d"
    output_shape: Shape  # shape of the layer's output (nested tuples for tuple outputs; () for non-tensors)
    num_params: int  # parameters this layer holds itself; 0 when already counted at an earlier row


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    ok = (
        isinstance(input_shape, (tuple, list, torch.Size))
        and len(input_shape) >= 1
        and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and int(s) >= 1 for s in input_shape
        )
    )
    if not ok:
        raise ValueError(
            "input_shape must be a tuple of positive ints that includes the batch dimension, "
            f"e.g. (1, 1, 28, 28) for one 28x28 grey image; got {input_shape!r}"
        )
    return tuple(int(s) for s in input_shape)


def _shape_of(output: Any) -> Shape:
    """The shape of a tensor, or a tuple of shapes for a tuple/list of outputs; () for anything else."""
    if isinstance(output, torch.Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return tuple(_shape_of(o) for o in output)
    return ()


def _is_reported(module: nn.Module) -> bool:
    """Layers get a row: modules without children, and containers that hold parameters of their own."""
    has_children = next(module.children(), None) is not None
    has_own_params = next(module.parameters(recurse=False), None) is not None
    return not has_children or has_own_params


def _model_device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def summary(
    model: nn.Module, input_shape: Sequence[int], *, dtype: torch.dtype = torch.float32, verbose: bool = True
) -> list[LayerInfo]:
    """Run one dummy batch of ``input_shape`` through ``model`` and describe every layer it passes.

    model: any nn.Module. input_shape: the full input shape *including* the batch dimension,
    e.g. (1, 1, 28, 28). dtype: the input's dtype (use torch.long for models that start with nn.Embedding;
    integer inputs are all zeros, float inputs uniform in [0, 1)). The input is created on the model's device.
    verbose: print the table (see ``format_summary``).
    Returns one LayerInfo per layer call, in the order the layers ran; a layer used twice gives two rows
    (its parameters are counted at the first). Containers such as nn.Sequential get no row of their own.
    Raises TypeError for a model that is not an nn.Module, ValueError for a malformed input_shape, and
    ValueError naming the failing layer when the model cannot process an input of that shape.
    """
    check.module("model", model)
    shape = _check_input_shape(input_shape)
    verbose = check.boolean("verbose", verbose)
    if not isinstance(dtype, torch.dtype) or dtype == torch.bool or dtype.is_complex:
        raise ValueError(
            f"dtype must be a real torch dtype such as torch.float32 or torch.long, got {dtype!r}"
        )

    device = _model_device(model)
    if dtype.is_floating_point:
        dummy = torch.rand(shape, dtype=dtype, device=device)
    else:
        dummy = torch.zeros(shape, dtype=dtype, device=device)

    names = {module: name or "(model)" for name, module in model.named_modules()}
    rows: list[LayerInfo] = []
    counted: set[int] = set()  # ids of parameters already counted (a layer used twice, tied weights)
    running: list[nn.Module] = []  # modules whose forward has started but not finished

    def before(module: nn.Module, args: Any) -> None:
        running.append(module)

    def after(module: nn.Module, args: Any, output: Any) -> None:
        running.pop()
        if _is_reported(module):
            own = [p for p in module.parameters(recurse=False) if id(p) not in counted]
            counted.update(id(p) for p in own)
            rows.append(
                LayerInfo(
                    names[module], type(module).__name__, _shape_of(output), sum(p.numel() for p in own)
                )
            )

    modes = {module: module.training for module in model.modules()}
    handles = []
    try:
        for module in model.modules():
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        model.eval()
        with torch.no_grad():
            model(dummy)
    except Exception as err:
        where = running[-1] if running else model
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(
            f"{type(model).__name__} cannot process an input of shape {shape}: it failed in layer "
            f"{names.get(where, '?')!r} ({type(where).__name__}) with {type(err).__name__}: "
            f"{message}"
        ) from err
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training

    if verbose:
        print(format_summary(rows, model, shape))
    return rows


def _format_shape(shape: Shape) -> str:
    if shape and all(isinstance(s, int) for s in shape):
        return str(shape)
    if shape:
        return "[" + ", ".join(_format_shape(s) for s in shape) + "]"
    return "-"


def format_summary(
    rows: Sequence[LayerInfo], model: nn.Module | None = None, input_shape: Sequence[int] | None = None
) -> str:
    """The rows of ``summary`` as a text table, with the total and trainable parameter counts.

    model: if given, totals are taken from ``model.parameters()`` (each shared parameter once), and
    parameters that no layer used during the forward pass are pointed out. input_shape: shown in the header.
    """
    if any(not isinstance(r, LayerInfo) for r in rows):
        raise TypeError("rows must be the list of LayerInfo returned by summary()")
    header = ("Layer", "Type", "Output shape", "Params")
    body = [(r.name, r.kind, _format_shape(r.output_shape), f"{r.num_params:,}") for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]

    def fmt(line: Sequence[str]) -> str:  # left-aligned text, right-aligned parameter counts
        return "  ".join(
            cell.rjust(w) if i == 3 else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))
        )

    rule = "-" * len(fmt(header))
    lines = []
    if input_shape is not None:
        lines.append(f"Input shape: {tuple(input_shape)}")
    lines += [fmt(header), rule, *map(fmt, body), rule]
    in_rows = sum(r.num_params for r in rows)
    if model is None:
        lines.append(f"Total parameters: {in_rows:,}")
    else:
        unique = {id(p): p for p in model.parameters()}.values()
        total = sum(p.numel() for p in unique)
        trainable = sum(p.numel() for p in unique if p.requires_grad)
        lines.append(f"Total parameters: {total:,} (trainable: {trainable:,})")
        if total != in_rows:
            lines.append(
                f"Note: {total - in_rows:,} parameters belong to layers this forward pass did not use."
            )
    return "\n".join(lines)
