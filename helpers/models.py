"""Small models the lessons reuse: a configurable MLP and a small CNN."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

from . import _validate as check


class MLP(nn.Module):
    """A multilayer perceptron: Flatten -> [Linear -> activation -> Dropout] * k -> Linear.

    in_features: size of one flattened input (784 for 28x28 images, 64 for 8x8).
    hidden: sizes of the hidden layers, e.g. (256,) or (128, 64); () gives a linear model (default (256,)).
    out_features: number of outputs: classes for classification, 1 for regression or a binary label
      (default 10, the book's ten image classes: set it to your number of classes; ``fit`` warns when the
      labels of a training epoch use fewer classes than the model has outputs).
    activation: the nn.Module class placed after every hidden Linear (default nn.ReLU).
    dropout: dropout probability in [0, 1) after every hidden activation (default 0: no dropout).
    Input: a tensor of shape (batch, ...) whose trailing dims multiply to in_features.
    Output: raw scores (logits) of shape (batch, out_features).
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (256,),
        out_features: int = 10,
        activation: type[nn.Module] = nn.ReLU,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        in_features = check.positive_int("in_features", in_features)
        out_features = check.positive_int("out_features", out_features)
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            raise TypeError(
                f"hidden must be a sequence of layer sizes such as ({int(hidden)},), got the int {hidden}"
            )
        if not isinstance(hidden, (Sequence, torch.Size)) or isinstance(hidden, str):
            raise TypeError(
                f"hidden must be a sequence of layer sizes such as (256,) or (128, 64), got {check.describe(hidden)}"
            )
        hidden = tuple(check.positive_int(f"hidden[{i}]", h) for i, h in enumerate(hidden))
        if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
            raise TypeError(
                "activation must be an nn.Module class such as nn.ReLU (the class, without parentheses: "
                f"one instance is made per layer), got {check.describe(activation)}"
            )
        dropout = check.fraction("dropout", dropout, allow_zero=True)
        sizes = [in_features, *hidden, out_features]
        self.in_features = in_features
        layers: list[nn.Module] = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(n_in, n_out), activation()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x[0].numel() if x.dim() > 1 else x.numel()
        if x.dim() < 2 or flat != self.in_features:
            raise ValueError(
                f"MLP expected input of shape (batch, ...) with {self.in_features} features per sample, "
                f"got shape {tuple(x.shape)}"
            )
        return self.net(x)


class SmallCNN(nn.Module):
    """Two conv blocks and a classifier, for 1-channel square images (28x28 or 8x8).

    For 28x28 inputs the feature maps go 28 -> 14 -> 7 (the classic FashionMNIST CNN:
    conv 1->32, pool, conv 32->64, pool, Linear 64*7*7 -> 128 -> classes).
    For 8x8 inputs they go 8 -> 4 -> 2.
    image_size: side of the input image, 28 or 8 (any size divisible by 4 works; default 28).
    num_classes: number of output logits (default 10; ``fit`` warns when the labels use fewer).
    channels: (c1, c2) conv widths (default (32, 64)).
    hidden: width of the classifier's hidden layer (default 128). dropout: before the last layer, in [0, 1)
    (default 0).
    Input: (batch, 1, image_size, image_size). Output: logits (batch, num_classes).
    """

    def __init__(
        self,
        image_size: int = 28,
        num_classes: int = 10,
        channels: tuple[int, int] = (32, 64),
        hidden: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        image_size = (
            check.integer("image_size", image_size) if not isinstance(image_size, float) else image_size
        )
        if not isinstance(image_size, int) or image_size < 4 or image_size % 4:
            raise ValueError(
                f"image_size must be a positive multiple of 4 (e.g. 28 or 8), got {image_size!r}"
            )
        num_classes = check.positive_int("num_classes", num_classes)
        if not isinstance(channels, (tuple, list)) or len(channels) != 2:
            raise TypeError(
                f"channels must be a pair of conv widths such as (32, 64), got {check.describe(channels)}"
            )
        c1, c2 = (check.positive_int(f"channels[{i}]", c) for i, c in enumerate(channels))
        hidden = check.positive_int("hidden", hidden)
        dropout = check.fraction("dropout", dropout, allow_zero=True)
        self.image_size = image_size
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        side = image_size // 4
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * side * side, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (1, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"SmallCNN expected input of shape (batch, {expected[0]}, {expected[1]}, {expected[2]}), "
                f"got {tuple(x.shape)}"
            )
        return self.classifier(self.features(x))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters in ``model``: only those with requires_grad when ``trainable_only``
    (default True), all of them otherwise."""
    check.module("model", model)
    trainable_only = check.boolean("trainable_only", trainable_only)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
