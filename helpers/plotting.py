"""Figures the lessons draw again and again."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from . import _validate as check


def plot_history(history: dict[str, list[float]], title: str | None = None) -> Figure:
    """Learning curves from ``helpers.fit``'s history: loss (left) and accuracy (right) per epoch.

    history: the dict ``helpers.fit`` returns (lists train_loss, val_loss and optionally train_acc, val_acc).
    title: a title above both panels (default None: none). Returns the Figure.
    """
    if not isinstance(history, dict):
        raise TypeError(f"history must be the dict returned by helpers.fit, got {check.describe(history)}")
    for key in ("train_loss", "val_loss"):
        if key not in history:
            raise ValueError(
                f"history must have a {key!r} list (as returned by helpers.fit), got keys {sorted(history)}"
            )
    if not history["train_loss"]:
        raise ValueError("history is empty: train for at least one epoch first")
    lengths = {key: len(values) for key, values in history.items() if key.endswith(("_loss", "_acc"))}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"history's lists must have one value per epoch each, got lengths {lengths}")
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    for split, style in (("train", "-o"), ("val", "--s")):
        ax_loss.plot(epochs, history[f"{split}_loss"], style, label=split)
        if f"{split}_acc" in history:
            ax_acc.plot(epochs, [100 * a for a in history[f"{split}_acc"]], style, label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(
    images: torch.Tensor,
    labels: Sequence[int] | torch.Tensor | None = None,
    predictions: Sequence[int] | torch.Tensor | None = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
) -> Figure:
    """A grid of 1-channel images with their true (and predicted) labels.

    images: (N, 1, H, W) or (N, H, W), a tensor or NumPy array. labels, predictions: one class index per
    image (default None: no titles). class_names: index -> name (default None: the index itself).
    ncols: images per row (default 8). A title reads "label" or "pred (true)"; mistakes are red.
    """
    images = check.tensor_or_array("images", images)
    ncols = check.positive_int("ncols", ncols)
    if images.dim() == 4:
        if images.shape[1] != 1:
            raise ValueError(f"show_images expects 1-channel images (N, 1, H, W), got {tuple(images.shape)}")
        images = images[:, 0]
    if images.dim() != 3 or len(images) == 0:
        raise ValueError(
            f"show_images expects a non-empty batch of shape (N, H, W) or (N, 1, H, W), got {tuple(images.shape)}"
        )
    n = len(images)
    for name, seq in (("labels", labels), ("predictions", predictions)):
        if seq is not None and not hasattr(seq, "__len__"):
            raise TypeError(f"{name} must be a sequence of class indices, got {check.describe(seq)}")
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} entries for {n} images")
        if seq is not None and class_names is not None and n and max(int(i) for i in seq) >= len(class_names):
            raise ValueError(
                f"{name} hold class index {max(int(i) for i in seq)}, but class_names has only "
                f"{len(class_names)} names"
            )
    name_of = (lambda i: class_names[int(i)]) if class_names is not None else (lambda i: str(int(i)))
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    row_height = 1.8 if predictions is not None and labels is not None else 1.5  # two-line titles need room
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, row_height * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:n]):
        ax.imshow(images[i].detach().cpu().numpy(), cmap="gray_r")
        if predictions is not None:
            ok = labels is None or int(predictions[i]) == int(labels[i])
            text = name_of(predictions[i]) + ("" if labels is None else f"\n({name_of(labels[i])})")
            ax.set_title(text, fontsize=8, color="black" if ok else "red")
        elif labels is not None:
            ax.set_title(name_of(labels[i]), fontsize=8)
    fig.tight_layout()
    return fig
