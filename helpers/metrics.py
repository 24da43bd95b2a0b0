"""Judging a classifier beyond one accuracy number: confusion matrix and per-class accuracy (Chapter 8).

confusion_matrix(preds, labels, num_classes)   counts[true, predicted], computed with one torch.bincount
per_class_accuracy(cm)                         the fraction of each true class that was predicted correctly
plot_confusion_matrix(cm, class_names)         the matrix as a heat map with the count written in every cell
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from . import _validate as check

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn, so `import helpers` stays cheap
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["confusion_matrix", "per_class_accuracy", "plot_confusion_matrix"]


def _class_indices(name: str, values: object, num_classes: int) -> torch.Tensor:
    """Check that ``values`` is a 1-D integer tensor of class indices in [0, num_classes)."""
    values = check.tensor_or_array(name, values)
    if values.dim() != 1:
        raise ValueError(
            f"{name} must be 1-D (one class index per sample), got shape {tuple(values.shape)}; "
            "for logits of shape (N, C) pass logits.argmax(dim=1)"
        )
    if values.is_floating_point() or values.is_complex() or values.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices (e.g. int64), got dtype {values.dtype}")
    if values.numel() and (int(values.min()) < 0 or int(values.max()) >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes - 1}] for num_classes={num_classes}, "
            f"got values from {int(values.min())} to {int(values.max())}"
        )
    return values


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Count how often each true class was predicted as each class.

    preds, labels: 1-D integer tensors (or NumPy arrays) of the same length N with class indices in
    [0, num_classes).
    Returns an int64 tensor ``cm`` of shape (num_classes, num_classes) on the CPU: ``cm[t, p]`` is the number
    of samples with true class ``t`` that were predicted as ``p``. Rows are true classes, columns predictions,
    so the diagonal holds the correct predictions and ``cm.sum() == N``.
    Raises TypeError/ValueError for anything else (floats, logits, mismatched lengths, out-of-range classes).
    """
    num_classes = check.positive_int("num_classes", num_classes)
    preds = _class_indices("preds", preds, num_classes).detach().cpu().long()
    labels = _class_indices("labels", labels, num_classes).detach().cpu().long()
    if preds.shape != labels.shape:
        raise ValueError(
            f"preds and labels must have the same length, got {preds.numel()} and {labels.numel()}"
        )
    # Each (true, predicted) pair gets its own bin number true * C + predicted; one bincount counts them all.
    counts = torch.bincount(labels * num_classes + preds, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes)


def _check_matrix(cm: object) -> torch.Tensor:
    cm = check.tensor_or_array("cm", cm)
    if cm.dim() != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm must be a square (C, C) matrix, got shape {tuple(cm.shape)}")
    if bool((cm < 0).any()):
        raise ValueError("cm holds counts, which cannot be negative")
    return cm


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Accuracy within each true class (also called recall): ``cm[c, c] / cm[c].sum()``.

    cm: a (C, C) confusion matrix with true classes in rows. Returns a float32 tensor of shape (C,);
    a class without any sample gets nan (there is nothing to be right or wrong about).
    """
    cm = _check_matrix(cm).detach().cpu().double()
    return (cm.diagonal() / cm.sum(dim=1)).float()  # 0 / 0 -> nan for an empty row


def plot_confusion_matrix(
    cm: torch.Tensor,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw ``cm`` as a heat map (rows: true class, columns: predicted) with every count written in its cell.

    class_names: one name per class for the axis labels (default None: "0", "1", ...).
    title: a title above the matrix (default None: none).
    ax: draw into this Axes (default None: a new figure). Returns the Figure. Colours are per-row fractions,
    so a class with few samples is as visible as a large one; the numbers are the raw counts.
    """
    cm = _check_matrix(cm).detach().cpu()
    n = cm.shape[0]
    names = [str(c) for c in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"class_names has {len(names)} entries for a {n}x{n} matrix")
    rows = cm.double().sum(dim=1, keepdim=True).clamp(min=1)
    fractions = (cm.double() / rows).numpy()
    if ax is None:
        side = min(9.0, 1.2 + 0.55 * n)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(side + 1.0, side))
    else:
        fig = ax.figure.figure  # the root Figure, also when ax lies in a SubFigure
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    for t in range(n):
        for p in range(n):
            count = int(cm[t, p])
            if count:
                ax.text(
                    p,
                    t,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if fractions[t, p] > 0.5 else "black",
                )
    long_names = max(map(len, names)) > 2
    ax.set_xticks(range(n), names, rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticks(range(n), names)
    ax.set(xlabel="predicted class", ylabel="true class")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    fig.tight_layout()
    return fig
