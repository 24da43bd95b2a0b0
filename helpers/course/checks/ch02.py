"""Checks for Chapter 2 (Autograd)."""

import math
from collections import Counter

import torch
from torch.autograd.gradcheck import GradcheckError

from ...demos.graph import build_graph
from ..exercises import ExerciseFailed, NotSolved, call, exercise, expect, expect_tensor


def _generator() -> torch.Generator:
    """A private, seeded random source: checks never disturb the notebook's global RNG."""
    return torch.Generator().manual_seed(0)


@exercise("ex-2.1")
def check_ex_2_1(grad_of):
    cases = [
        ("f(t) = (t ** 2).sum()", lambda t: (t**2).sum(), torch.tensor([1.0, -2.0, 3.0]), lambda x: 2 * x),
        (
            "f(t) = (t * t.exp()).sum()",
            lambda t: (t * t.exp()).sum(),
            torch.tensor([[0.0, 1.0], [-1.0, 0.5]]),
            lambda x: (1 + x) * x.exp(),
        ),
        ("f(t) = t.norm()", lambda t: t.norm(), torch.tensor([3.0, 4.0]), lambda x: x / x.norm()),
    ]
    for text, f, x, derivative in cases:
        expected = derivative(x)
        result = call(grad_of, f, x)
        if (
            isinstance(result, torch.Tensor)
            and result.shape == x.shape
            and torch.allclose(result.detach(), x)
        ):
            raise ExerciseFailed("you returned x itself, not the gradient (x.grad of your leaf copy).")
        expect_tensor(
            result, expected, f"grad_of(f, x) for {text} and x of shape {tuple(x.shape)}", atol=1e-5
        )
        expect(
            not x.requires_grad and x.grad is None,
            f"after grad_of(f, x) for {text}, the caller's x has requires_grad={x.requires_grad} and "
            f"x.grad={'None' if x.grad is None else 'a tensor'}: your function changed its input. "
            "Work on a copy of x that requires grad, so the caller's tensor is left as it was.",
        )
        again = call(grad_of, f, x)
        expect_tensor(
            again, expected, f"a second call of grad_of(f, x) for {text} (do gradients pile up?)", atol=1e-5
        )


@exercise("ex-2.2")
def check_ex_2_2(derivative_curve):
    x = torch.linspace(-3, 3, 13)
    cases = [
        ("torch.tanh", torch.tanh, 1 - torch.tanh(x) ** 2),
        ("t ** 3", lambda t: t**3, 3 * x**2),
        ("torch.sigmoid", torch.sigmoid, torch.sigmoid(x) * (1 - torch.sigmoid(x))),
    ]
    for text, f, expected in cases:
        result = call(derivative_curve, f, x.clone())
        expect(
            isinstance(result, torch.Tensor),
            f"derivative_curve should return a tensor, got {type(result).__name__}.",
        )
        expect(
            tuple(result.shape) == tuple(x.shape),
            f"for f = {text} and x of shape {tuple(x.shape)} the result has shape {tuple(result.shape)}: "
            "it should hold one derivative per point, the shape of x.",
        )
        if torch.allclose(result.detach(), f(x), atol=1e-5):
            raise ExerciseFailed(
                f"for f = {text} you returned f(x), not its derivative (x.grad after backward)."
            )
        if torch.allclose(result.detach(), expected / len(x), atol=1e-7):
            raise ExerciseFailed(
                f"for f = {text} every derivative is divided by {len(x)}: backward on the mean weights each "
                "output by 1/N; use `gradient=` on f(x) itself."
            )
        if torch.allclose(result.detach(), expected * f(x), atol=1e-5) and not torch.allclose(
            expected * f(x), expected
        ):
            raise ExerciseFailed(
                f"for f = {text} every derivative is multiplied by f(x): the `gradient` you pass to "
                "backward weights each output; which weights give each f'(x_i) unchanged?"
            )
        expect_tensor(result, expected, f"derivative_curve(f, x) for f = {text}", atol=1e-5)


def _graphs() -> list[tuple[str, torch.Tensor]]:
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    classic = (y * y * 3).mean()
    a = torch.tensor(1.5, requires_grad=True)
    b = a * 2
    for _ in range(12):  # each step uses the previous value twice: 4096 paths to the leaf
        b = b * b * 0.5
    w = torch.randn(3, requires_grad=True, generator=_generator())
    bias = torch.zeros(1, requires_grad=True)
    data = torch.randn(4, 3, generator=_generator())
    loss = ((data @ w + bias).relu() - 1).pow(2).sum() + (w * w).sum()
    return [
        ("the chapter's out = (3 * (x + 2) ** 2).mean()", classic),
        ("a chain where every value is used twice", b),
        ("a small regression loss with two leaves and a constant input", loss),
    ]


@exercise("ex-2.3")
def check_ex_2_3(count_functions):
    for text, t in _graphs():
        expected = dict(Counter(node.name for node in build_graph(t, max_nodes=10_000)))
        result = call(count_functions, t)
        expect(
            isinstance(result, dict), f"count_functions should return a dict, got {type(result).__name__}."
        )
        expect(
            set(result) == set(expected),
            f"for {text} the node names are wrong: missing {sorted(set(expected) - set(result))}, "
            f"unexpected {sorted(set(result) - set(expected))}. Use type(node).__name__ and follow "
            "next_functions down to the leaves (skip the None entries).",
        )
        wrong = {k: (result[k], v) for k, v in expected.items() if result[k] != v}
        if any(got > want for got, want in wrong.values()):
            raise ExerciseFailed(
                f"for {text} some nodes are counted more than once {wrong} (yours, expected): "
                "a node reached along two paths is still one node. Remember the nodes you visited."
            )
        expect(not wrong, f"for {text} some counts are too small {wrong} (yours, expected).")


def _regression_params():
    gen = _generator()
    w = torch.randn(3, 2, generator=gen).requires_grad_()
    b = torch.randn(2, generator=gen).requires_grad_()
    unused = torch.randn(4, generator=gen).requires_grad_()
    x = torch.randn(5, 3, generator=gen)
    ((x @ w + b) ** 2).mean().backward()
    return w, b, unused


@exercise("ex-2.4")
def check_ex_2_4(sgd_step):
    w, b, unused = _regression_params()
    params = [w, b, unused]
    lr = 0.1
    before = [p.detach().clone() for p in params]
    grads = [p.grad.clone() for p in (w, b) if p.grad is not None]  # the loss used both
    pointers = [p.data_ptr() for p in params]
    result = call(sgd_step, params, lr)
    expect(
        result is params
        or (
            isinstance(result, (list, tuple))
            and len(result) == len(params)
            and all(r is p for r, p in zip(result, params))
        ),
        "sgd_step should return the same list of tensors it was given (the tensors it updated in place).",
    )
    expect(
        all(p.is_leaf and p.requires_grad for p in params),
        "after sgd_step every parameter must still be a leaf that requires grad: do the update where autograd "
        "does not record it.",
    )
    expect(
        all(p.data_ptr() == ptr for p, ptr in zip(params, pointers)),
        "a parameter now lives in new memory: update the existing tensors in place (-=), do not rebind them.",
    )
    if torch.equal(w.detach(), before[0]):
        raise ExerciseFailed(
            "the parameters did not change. `p = p - lr * p.grad` only rebinds a local name; "
            "the caller's tensors must be modified in place."
        )
    for name, p, old, g in (("the weight", w, before[0], grads[0]), ("the bias", b, before[1], grads[1])):
        expect_tensor(p.detach(), old - lr * g, f"{name} after one step with lr={lr}", atol=1e-6)
    expect(
        torch.equal(unused.detach(), before[2]),
        "a parameter whose .grad is None (it was not used by the loss) should be skipped, left unchanged.",
    )
    expect(
        all(p.grad is None or not p.grad.any() for p in params),
        "after the step the gradients are still there: the next backward() would add to them. "
        "Reset every .grad (set it to None) at the end of the step.",
    )


def _line_data(slope: float, intercept: float, n: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.linspace(-1, 1, n)
    y = slope * x + intercept + 0.1 * torch.randn(n, generator=_generator())
    return x, y


@exercise("ex-2.5")
def check_ex_2_5(fit_line):
    for slope, intercept in ((-1.5, 0.5), (3.0, 2.0)):
        x, y = _line_data(slope, intercept)
        result = call(fit_line, x.clone(), y.clone(), lr=0.1, steps=200)
        expect(
            isinstance(result, tuple) and len(result) == 2,
            f"fit_line should return a tuple (w, b), got {type(result).__name__}.",
        )
        w, b = result
        expect(
            isinstance(w, float) and isinstance(b, float),
            f"w and b should be Python floats (use .item()), got {type(w).__name__} and {type(b).__name__}.",
        )
        design = torch.stack([x, torch.ones_like(x)], dim=1)
        best_w, best_b = torch.linalg.lstsq(design, y.unsqueeze(1)).solution.squeeze(1).tolist()
        expect(
            math.isfinite(w) and math.isfinite(b),
            f"for data around y = {slope}x + {intercept} the result is not finite (w={w}, b={b}): training diverged.",
        )
        expect(
            abs(w - best_w) < 0.02 and abs(b - best_b) < 0.02,
            f"for data around y = {slope}x + {intercept} (lr=0.1, 200 steps) you found w={w:.3f}, b={b:.3f}, "
            f"but gradient descent should reach the least-squares line w={best_w:.3f}, b={best_b:.3f}. "
            "Do the gradients pile up between steps?",
        )
    # one step from w = b = 0 pins down the loss (mean squared error) and the learning rate
    x, y = _line_data(2.0, 1.0)
    w, b = call(fit_line, x.clone(), y.clone(), lr=0.05, steps=1)
    want_w, want_b = (0.05 * 2 * (x * y).mean()).item(), (0.05 * 2 * y.mean()).item()
    expect(
        abs(w - want_w) < 1e-4 and abs(b - want_b) < 1e-4,
        f"after exactly one step (lr=0.05) from w = b = 0 you return w={w:.4f}, b={b:.4f}, expected "
        f"w={want_w:.4f}, b={want_b:.4f}. Start from zeros, use the mean squared error, take `steps` steps of size lr.",
    )


@exercise("ex-2.6")
def check_ex_2_6(numerical_grad):
    cases = [
        (
            "f(t) = (t ** 3).sum()",
            lambda t: (t**3).sum(),
            torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64),
        ),
        (
            "f(t) = (t.sin() * t[:, :1]).sum()",
            lambda t: (t.sin() * t[:, :1]).sum(),
            torch.tensor([[0.3, 1.0, -2.0], [1.5, -0.7, 0.2]], dtype=torch.float64),
        ),
    ]
    for text, f, x in cases:
        original = x.clone()
        leaf = x.clone().requires_grad_()
        f(leaf).backward()
        true_grad = leaf.grad.detach().clone() if leaf.grad is not None else torch.zeros_like(x)
        result = call(numerical_grad, f, x)
        expect(
            torch.equal(x, original),
            f"for {text} numerical_grad changed the caller's x: restore every entry "
            "you nudge (or nudge a copy).",
        )
        if isinstance(result, torch.Tensor) and result.dtype != torch.float64:
            raise ExerciseFailed(
                f"for {text} the result has dtype {result.dtype}: the text asks for float64 "
                "(in float32 a difference over eps = 1e-6 is mostly rounding error)."
            )
        for factor, mistake in (
            (2.0, "twice the true derivative: a central difference spans 2 * eps, not eps."),
            (0.5, "half the true derivative: nudge by eps each way, divide by 2 * eps."),
        ):
            if (
                isinstance(result, torch.Tensor)
                and result.shape == x.shape
                and torch.allclose(result.detach(), factor * true_grad, rtol=1e-4, atol=1e-6)
            ):
                raise ExerciseFailed(f"for {text} every entry is {mistake}")
        expect_tensor(
            result,
            true_grad,
            f"numerical_grad(f, x) for {text} and x of shape {tuple(x.shape)}",
            atol=1e-6,
            rtol=1e-5,
        )


@exercise("ex-2.7")
def check_ex_2_7(round_ste):
    x = torch.tensor([[-1.7, -0.2, 0.4], [0.6, 1.5, 2.49]])
    weights = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])
    leaf = x.clone().requires_grad_()
    result = call(round_ste, leaf)
    if isinstance(result, torch.Tensor) and torch.allclose(result.detach(), x):
        raise ExerciseFailed("the forward pass does not round: the values must equal x.round().")
    expect_tensor(
        result.detach() if isinstance(result, torch.Tensor) else result,
        x.round(),
        "round_ste(x) in the forward pass (values)",
    )
    expect(
        result.requires_grad,
        "the result does not require grad: it is cut off from x's graph, so no gradient can reach x.",
    )
    (result * weights).sum().backward()
    grad = leaf.grad
    if grad is None:
        raise ExerciseFailed("no gradient reached x.")
    if not grad.any():
        raise ExerciseFailed(
            "the gradient reaching x is all zeros: that is the true derivative of rounding. "
            "The straight-through trick makes the backward pass behave like the identity."
        )
    expect_tensor(grad, weights, "x.grad after (round_ste(x) * w).sum().backward() (should equal w)")


@exercise("ex-2.8")
def check_ex_2_8(SiLU):
    expect(
        isinstance(SiLU, type) and issubclass(SiLU, torch.autograd.Function),
        f"SiLU should be a class derived from torch.autograd.Function, got {SiLU!r}.",
    )
    x = torch.linspace(-4, 4, 9, dtype=torch.float64)
    out = SiLU.apply(x.clone().requires_grad_())
    if out is None:
        raise NotSolved
    expect_tensor(
        out.detach() if isinstance(out, torch.Tensor) else out,
        torch.nn.functional.silu(x),
        "SiLU.apply(x) in the forward pass",
        atol=1e-10,
    )
    expect(
        out.grad_fn is not None and type(out.grad_fn).__name__ == f"{SiLU.__name__}Backward",
        "the output is not made by your Function's node: return a tensor computed from x in forward.",
    )
    leaf = (torch.randn(6, dtype=torch.float64, generator=_generator()) * 2).requires_grad_()
    try:
        torch.autograd.gradcheck(SiLU.apply, (leaf,))
    except GradcheckError as err:
        first = str(err).splitlines()[0]
        raise ExerciseFailed(
            f"gradcheck disagrees with your backward ({first}). backward must return "
            "grad_output times d silu/dx = s + x * s * (1 - s), with s = sigmoid(x)."
        ) from None
