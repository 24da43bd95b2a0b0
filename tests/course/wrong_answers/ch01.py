"""Plausible wrong answers for Chapter 1: each must make its check fail (not "not solved")."""

import torch

WRONG = {
    "ex-1.1": lambda: torch.arange(4, dtype=torch.float32).expand(3, 4),  # columns instead of rows
    "ex-1.2": lambda: lambda x: x[x >= 0],  # keeps zeros
    "ex-1.3": lambda: lambda x: x - x.mean(dim=1, keepdim=True),  # wrong dim, no scaling
    "ex-1.4": lambda: lambda images: images.reshape(images.shape[0], -1).clone(),  # a copy
    "ex-1.5": lambda: lambda a, b: torch.cdist(a, b),  # not squared
    "ex-1.6": lambda: lambda labels, n: torch.nn.functional.one_hot(labels, n),  # int64, not float32
    "ex-1.7": lambda: lambda x, w, b: x @ w + b,  # forgot the transpose
}
