"""Plausible wrong answers for Chapter 4: each must make its check fail (not "not solved")."""

import torch
import torch.nn.functional as F
from torch import nn


def _norms_without_zero_grad(model, x, y, loss_fn):
    loss_fn(model(x), y).backward()  # forgot model.zero_grad(): stale gradients add up
    return [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, nn.Linear)]


WRONG = {
    "ex-4.1": lambda: (
        lambda x, negative_slope=0.01: torch.where(x > 0, x, negative_slope)
    ),  # the slope, not slope*x
    "ex-4.2": lambda: lambda z, dim=-1: z.exp() / z.exp().sum(dim=dim, keepdim=True),  # naive: overflows
    "ex-4.3": lambda: (
        lambda logits, task: {
            "regression": logits,  # softmax for multilabel
            "binary": (logits > 0).long(),
            "multiclass": logits.argmax(dim=1),
            "multilabel": (logits.softmax(dim=1) > 0.5).long(),
        }[task]
    ),
    "ex-4.4": lambda: (
        lambda logits, targets: F.binary_cross_entropy(torch.sigmoid(logits), targets)
    ),  # clamps at 100
    "ex-4.5": lambda: (
        lambda pred, target, delta=1.0: F.smooth_l1_loss(pred, target, beta=delta)
    ),  # = Huber / delta
    "ex-4.6": lambda: (
        lambda targets, num_classes, smoothing: (  # eps/(C-1) elsewhere
            F.one_hot(targets, num_classes).float() * (1 - smoothing - smoothing / (num_classes - 1))
            + smoothing / (num_classes - 1)
        )
    ),
    "ex-4.7": lambda: (
        lambda logits, targets, weight: (  # divides by N
            (-F.log_softmax(logits, dim=1)[torch.arange(len(targets)), targets] * weight[targets]).mean()
        )
    ),
    "ex-4.8": lambda: _norms_without_zero_grad,
}
