"""Plausible wrong answers for Chapter 1, each with the words its check's feedback must contain."""

import torch
import torch.nn.functional as F


def _one_hot_all_columns(labels, num_classes):
    out = torch.zeros(len(labels), num_classes)
    out[:, labels] = 1.0  # every row gets a 1 in every label's column
    return out


def _one_hot_transposed(labels, num_classes):
    out = torch.zeros(num_classes, len(labels))
    out[labels, torch.arange(len(labels))] = 1.0
    return out


WRONG = {
    "ex-1.1": [
        (lambda: torch.arange(4, dtype=torch.float32).expand(3, 4), "each COLUMN"),
        (lambda: torch.arange(3).unsqueeze(1).expand(3, 4), "dtype torch.int64"),
        (lambda: torch.arange(3.0).unsqueeze(0).expand(4, 3), "shape (4, 3)"),
        (lambda: torch.arange(1.0, 4.0).unsqueeze(1).expand(3, 4), "off by one"),
        (lambda: [[float(i)] * 4 for i in range(3)], "torch.Tensor"),
        (lambda: torch.arange(3, dtype=torch.float64).unsqueeze(1).expand(3, 4), "dtype torch.float64"),
    ],
    "ex-1.2": [
        (lambda: lambda x: x[x >= 0], "not strictly greater"),
        (lambda: lambda x: x * (x > 0), "keeps every entry"),
        (lambda: lambda x: x.clamp(min=0), "keeps every entry"),
        (lambda: lambda x: x[x != 0], "negative entries"),
        (lambda: lambda x: x[x > 0].sort().values, "original"),
        (lambda: lambda x: x[x > 0].tolist(), "torch.Tensor"),
        (lambda: lambda x: x.nonzero(), "shape"),
    ],
    "ex-1.3": [
        (
            lambda: lambda x: (x - x.mean((0, 2, 3), True)) / x.std((0, 2, 3), unbiased=False, keepdim=True),
            "biased",
        ),
        (lambda: lambda x: (x - x.mean(dim=(0, 2, 3))) / x.std(dim=(0, 2, 3)), "must match the size"),
        (lambda: lambda x: (x - x.mean((2, 3), keepdim=True)) / x.std((2, 3), keepdim=True), "each image"),
        (lambda: lambda x: (x - x.mean(0)) / x.std(0), "dim 0 only"),
        (lambda: lambda x: (x - x.mean()) / x.std(), "whole tensor"),
        (lambda: lambda x: x - x.mean((0, 2, 3), keepdim=True), "not standard deviation 1"),
        (lambda: lambda x: x / x.std((0, 2, 3), keepdim=True), "mean 0"),
        (lambda: lambda x: (x - x.mean((0, 2, 3), True)) / x.var((0, 2, 3), keepdim=True), "variance"),
        (lambda: lambda x: ((x - x.mean((0, 2, 3), True)) / x.std((0, 2, 3), keepdim=True)).mean(0), "shape"),
    ],
    "ex-1.4": [
        (lambda: lambda images: images.reshape(images.shape[0], -1).clone(), "copy"),
        (lambda: lambda images: images.view(-1), "expected shape"),
        (lambda: lambda images: images.permute(0, 2, 3, 1).reshape(images.shape[0], -1), "copy"),
        (lambda: lambda images: images.view(2, -1), "for input shape (3, 1, 7, 6)"),
        (lambda: lambda images: images.view(images.shape[1], -1), "expected shape"),
        (lambda: lambda images: images.flatten(), "expected shape"),
        (lambda: lambda images: images.view(-1, images.shape[0]), "expected shape"),
    ],
    "ex-1.5": [
        (lambda: lambda a, b: torch.cdist(a, b), "not the SQUARED"),
        (lambda: lambda a, b: ((a - b) ** 2).sum(-1), "must match the size"),
        (lambda: lambda a, b: ((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).mean(-1), "averaged"),
        (lambda: lambda a, b: (a.unsqueeze(1) - b.unsqueeze(0)).sum(-1) ** 2, "squared the sum"),
        (lambda: lambda a, b: (a.unsqueeze(1) - b.unsqueeze(0)).abs().sum(-1), "the L1 (absolute) distance"),
        (lambda: lambda a, b: ((a.unsqueeze(0) - b.unsqueeze(1)) ** 2).sum(-1), "transposed"),
        (lambda: lambda a, b: ((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(1), "shape (4, 3)"),
    ],
    "ex-1.6": [
        (lambda: lambda labels, n: torch.eye(n, dtype=torch.long)[labels], "dtype torch.int64"),
        (lambda: lambda labels, n: F.one_hot(labels, n).float(), "F.one_hot, which this exercise asks"),
        (lambda: _one_hot_all_columns, "exactly one 1.0"),
        (lambda: _one_hot_transposed, "shape (4, 5)"),
        (lambda: lambda labels, n: torch.eye(int(labels.max()) + 1)[labels], "shape (5, 3)"),
        (lambda: lambda labels, n: torch.eye(n)[labels].double(), "dtype torch.float64"),
        (lambda: lambda labels, n: torch.eye(n)[labels - 1], "values differ"),
    ],
    "ex-1.7": [
        (lambda: lambda x, w, b: x @ w + b, "mat1 and mat2"),
        (lambda: lambda x, w, b: x @ w.T, "bias is missing"),
        (lambda: lambda x, w, b: torch.mm(x, w.t()) + b, "your code raised"),
        (lambda: lambda x, w, b: x @ w.T + b.unsqueeze(1), "shape (3, 3)"),
        (lambda: lambda x, w, b: (x @ w.T + b).sum(0), "shape"),
        (lambda: lambda x, w, b: x @ w.T - b, "values differ"),
    ],
}
