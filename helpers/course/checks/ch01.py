"""Checks for Chapter 1 (Tensors)."""

import torch

from ..exercises import ExerciseFailed, call, exercise, expect, expect_tensor
from ._common import close, diagnose, generator, randn


@exercise("ex-1.1")
def check_ex_1_1(answer):
    expected = torch.arange(3, dtype=torch.float32).unsqueeze(1).expand(3, 4)
    diagnose(
        answer,
        [
            (torch.arange(4.0).expand(3, 4), "each COLUMN holds its index: row i should be filled with i."),
            (expected + 1, "off by one: row 0 should be all zeros (row i holds the value i)."),
        ],
    )
    expect_tensor(answer, expected, "answer")


@exercise("ex-1.2")
def check_ex_1_2(positives):
    x = torch.tensor([[1.5, -2.0, 0.0], [3.0, -0.5, 4.0]])
    result = call(positives, x.clone())
    close(
        result,
        torch.tensor([1.5, 3.0, 4.0]),
        "positives(x) for a 2x3 x with zeros and negatives",
        mistakes=[
            (torch.tensor([1.5, 0.0, 3.0, 4.0]), "0.0 is not strictly greater than zero: use > 0, not >= 0."),
            (torch.tensor([1.5, 4.0, 3.0]), "the entries are not in their original (row-major) order."),
            (
                torch.tensor([1.5, 3.0, 4.0]).sort().values.flip(0),
                "the entries are not in their original order.",
            ),
            (torch.tensor([1.5, -2.0, 3.0, -0.5, 4.0]), "negative entries are kept: keep only x > 0."),
            (
                x.clamp(min=0),
                "multiplying by the mask or clamping keeps every entry (as zeros): index x with it.",
            ),
        ],
    )
    empty = call(positives, -torch.ones(4))
    expect(
        isinstance(empty, torch.Tensor) and empty.numel() == 0,
        "for an x with no positive entry the result should be an empty tensor.",
    )
    cube = randn(2, 3, 4, seed=1)
    expected = cube[cube > 0]
    close(
        call(positives, cube.clone()),
        expected,
        "positives(x) for a (2, 3, 4) x",
        mistakes=[(expected.sort().values, "the entries are not in their original (row-major) order.")],
    )


@exercise("ex-1.3")
def check_ex_1_3(standardise_channels):
    x = randn(4, 3, 2, 5, seed=4) * torch.tensor([1.0, 10.0, 0.5]).view(1, 3, 1, 1)
    x = x + torch.tensor([2.0, -30.0, 0.0]).view(1, 3, 1, 1)  # channels with different scales and means
    result = call(standardise_channels, x.clone())
    dims = (0, 2, 3)
    mean, std = x.mean(dim=dims, keepdim=True), x.std(dim=dims, keepdim=True)
    expect(
        isinstance(result, torch.Tensor) and result.shape == x.shape,
        f"the result should be a tensor of shape {tuple(x.shape)} (the same as x), got "
        f"{tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__}.",
    )
    close(
        result,
        (x - mean) / std,
        "standardise_channels(x) for x of shape (4, 3, 2, 5)",
        atol=1e-5,
        mistakes=[
            (
                (x - mean) / x.std(dim=dims, keepdim=True, unbiased=False),
                "you divided by the biased std (divides by n); the text asks for the unbiased estimate, "
                "std's default (divides by n - 1).",
            ),
            ((x - mean) / x.var(dim=dims, keepdim=True), "you divided by the variance: divide by the std."),
            (
                (x - x.mean(dim=(2, 3), keepdim=True)) / x.std(dim=(2, 3), keepdim=True),
                "you standardised each image's channel separately: the statistics are over all images "
                "too (dimensions 0, 2 and 3).",
            ),
            (
                (x - x.mean(dim=0, keepdim=True)) / x.std(dim=0, keepdim=True),
                "you standardised every pixel position over the batch (dim 0 only): reduce over dimensions "
                "0, 2 and 3.",
            ),
            ((x - x.mean()) / x.std(), "you used the whole tensor's mean and std: each channel has its own."),
            (x - mean, "every channel has mean 0 but not standard deviation 1: divide by the channel std."),
            (x / std, "every channel should have mean 0: subtract the channel mean first."),
        ],
    )


@exercise("ex-1.4")
def check_ex_1_4(flatten_batch):
    for i, shape in enumerate(((2, 3, 4, 5), (3, 1, 7, 6))):
        images = torch.rand(shape, generator=generator(i))
        result = call(flatten_batch, images)
        n = shape[0]
        expect(
            isinstance(result, torch.Tensor) and tuple(result.shape) == (n, images[0].numel()),
            f"for input shape {shape} expected shape {(n, images[0].numel())}, got "
            f"{tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__}.",
        )
        expect(
            result.untyped_storage().data_ptr() == images.untyped_storage().data_ptr(),
            "the result is a copy: it must share memory with the input (use view).",
        )
        expect(torch.equal(result, images.reshape(n, -1)), "the values are not in row-major order.")


@exercise("ex-1.5")
def check_ex_1_5(pairwise_sq_dists):
    a = torch.tensor([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [3.0, -1.0, 2.0], [0.5, 2.0, -1.0]])
    b = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 1.0]])
    result = call(pairwise_sq_dists, a, b)
    diff = a.unsqueeze(1) - b.unsqueeze(0)
    expected = (diff**2).sum(-1)
    close(
        result,
        expected,
        "pairwise_sq_dists(a, b) for a (4, 3) and b (2, 3)",
        atol=1e-5,
        mistakes=[
            (expected.sqrt(), "these are the distances, not the SQUARED distances."),
            ((diff**2).mean(-1), "you averaged the squared differences over the coordinates: sum them."),
            (diff.sum(-1) ** 2, "you squared the sum of the differences: square each difference, then sum."),
            (diff.abs().sum(-1), "that is the L1 (absolute) distance: square each difference, then sum."),
            (expected.T, "the result is transposed: row i belongs to a[i], column j to b[j]."),
        ],
    )


@exercise("ex-1.6", forbid=("torch.nn.functional.one_hot",))
def check_ex_1_6(one_hot):
    labels = torch.tensor([2, 0, 1, 2, 0])
    result = call(one_hot, labels.clone(), 4)
    expected = torch.nn.functional.one_hot(labels, 4).float()
    if isinstance(result, torch.Tensor) and result.shape == expected.shape:
        expect(
            bool((result.sum(dim=1) == 1).all()),
            "every row should hold exactly one 1.0 (in column labels[i]); yours has rows with several "
            "or none: index with two tensors, rows torch.arange(N) and columns labels.",
        )
    expect_tensor(result, expected, "one_hot(tensor([2, 0, 1, 2, 0]), 4)")


@exercise("ex-1.7")
def check_ex_1_7(linear):
    weight, bias = randn(3, 5, seed=0), randn(3, seed=1)
    for i, shape in enumerate(((5,), (4, 5), (2, 4, 5))):
        x = randn(*shape, seed=2 + i)
        result = call(linear, x, weight, bias)
        expected = torch.nn.functional.linear(x, weight, bias)
        if isinstance(result, torch.Tensor) and result.shape == expected.shape:
            if torch.allclose(result, expected - bias, atol=1e-5):
                raise ExerciseFailed("the bias is missing: y = x @ weight.T + bias.")
        expect_tensor(result, expected, f"linear(x, weight, bias) for x of shape {shape}", atol=1e-5)
