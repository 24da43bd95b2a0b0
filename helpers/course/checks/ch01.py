"""Checks for Chapter 1 (Tensors)."""

import torch

from ..exercises import call, exercise, expect, expect_tensor


@exercise("ex-1.1")
def check_ex_1_1(answer):
    expected = torch.arange(3, dtype=torch.float32).unsqueeze(1).expand(3, 4)
    expect_tensor(answer, expected, "answer")


@exercise("ex-1.2")
def check_ex_1_2(positives):
    x = torch.tensor([[1.5, -2.0, 0.0], [3.0, -0.5, 4.0]])
    result = call(positives, x.clone())
    expect_tensor(result, torch.tensor([1.5, 3.0, 4.0]), "positives(x) for a 2x3 x with zeros and negatives")
    empty = call(positives, -torch.ones(4))
    expect(
        isinstance(empty, torch.Tensor) and empty.numel() == 0,
        "for an x with no positive entry the result should be an empty tensor.",
    )


@exercise("ex-1.3")
def check_ex_1_3(standardise_columns):
    x = torch.tensor([[1.0, 10.0], [2.0, 20.0], [3.0, 60.0], [6.0, 30.0]])
    result = call(standardise_columns, x.clone())
    expected = (x - x.mean(dim=0)) / x.std(dim=0)
    expect(
        isinstance(result, torch.Tensor) and result.shape == x.shape,
        f"the result should be a tensor of shape {tuple(x.shape)} (the same as x).",
    )
    expect(
        torch.allclose(result.mean(dim=0), torch.zeros(2), atol=1e-5),
        "every column should have mean 0: subtract x.mean(dim=0).",
    )
    expect_tensor(result, expected, "standardise_columns(x)", atol=1e-5)


@exercise("ex-1.4")
def check_ex_1_4(flatten_batch):
    for shape in ((2, 3, 4, 5), (1, 1, 28, 28)):
        images = torch.rand(shape)
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
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0], [3.0, -1.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    result = call(pairwise_sq_dists, a, b)
    expected = torch.cdist(a, b) ** 2
    expect_tensor(result, expected, "pairwise_sq_dists(a, b) for a (3, 2) and b (2, 2)", atol=1e-5)
    expect(
        not torch.allclose(expected, expected.sqrt()),
        "internal: test data must distinguish squared distances",
    )


@exercise("ex-1.6")
def check_ex_1_6(one_hot):
    labels = torch.tensor([2, 0, 1, 2])
    result = call(one_hot, labels, 4)
    expected = torch.nn.functional.one_hot(labels, 4).float()
    expect_tensor(result, expected, "one_hot(tensor([2, 0, 1, 2]), 4)")


@exercise("ex-1.7")
def check_ex_1_7(linear):
    torch.manual_seed(0)
    weight, bias = torch.randn(3, 5), torch.randn(3)
    for shape in ((5,), (4, 5), (2, 4, 5)):
        x = torch.randn(shape)
        result = call(linear, x, weight, bias)
        expected = torch.nn.functional.linear(x, weight, bias)
        expect_tensor(result, expected, f"linear(x, weight, bias) for x of shape {shape}", atol=1e-5)
