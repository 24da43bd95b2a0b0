"""Checks for Chapter 2 (Autograd)."""

import itertools
import math
from collections import Counter
from collections.abc import Callable

import torch
from torch.autograd.gradcheck import GradcheckError

from ...demos.graph import build_graph
from ..exercises import ExerciseFailed, NotSolved, call, exercise, expect, expect_tensor
from ._common import close, non_contiguous, randn


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


def _jacobian_cases() -> list[tuple[str, Callable[[torch.Tensor], torch.Tensor], torch.Tensor]]:
    mixing = randn(4, 3, seed=2)
    return [
        # m = 4 outputs, n = 3 inputs: a transposed Jacobian has another shape
        (
            "f(t) = W @ t.tanh() with W of shape (4, 3)",
            lambda t: mixing.to(t.dtype) @ t.tanh(),
            randn(3, seed=3),
        ),
        # square but lower-triangular: the transpose has other values
        ("f(t) = t.cumsum(0) * t", lambda t: t.cumsum(0) * t, torch.tensor([0.5, -1.0, 2.0, 1.5])),
        # float64, m = 3 < n = 5, and an output that does not depend on t at all (a row of zeros)
        (
            "f(t) = torch.stack([(t ** 2).sum(), t[0] * t[-1], torch.ones(())]) for a float64 t",
            lambda t: torch.stack([(t**2).sum(), t[0] * t[-1], torch.ones((), dtype=t.dtype)]),
            randn(5, seed=4, dtype=torch.float64),
        ),
    ]


@exercise("ex-2.2", forbid=("torch.autograd.functional.jacobian", "torch.func.jacrev", "torch.func.jacfwd"))
def check_ex_2_2(jacobian):
    for text, f, x in _jacobian_cases():
        expected = torch.autograd.functional.jacobian(f, x)
        original = x.clone()
        calls: list[int] = []
        result = call(jacobian, lambda t, f=f, calls=calls: calls.append(1) or f(t), x)
        expect(
            torch.equal(x, original) and not x.requires_grad and x.grad is None,
            f"for {text}, jacobian(f, x) changed its input (its values, requires_grad or .grad): work on "
            "a copy of x that requires grad, so the caller's tensor is left as it was.",
        )
        m, n = expected.shape
        expect(
            len(calls) == 1,
            f"for {text} your jacobian called f {len(calls)} times: compute f(x) once and go through its "
            f"graph once per row ({m} backward passes through one graph; the chapter showed how).",
        )
        close(
            result,
            expected,
            f"jacobian(f, x) for {text} (shape (m, n) = {(m, n)})",
            atol=1e-5,
            mistakes=[
                (
                    expected.sum(dim=0),
                    "you returned one vector: the gradient for the weights u = (1, ..., 1), which is the sum of "
                    "the Jacobian's rows. Each row needs its own backward pass with its own weights.",
                ),
                (
                    expected.T,
                    "rows and columns are swapped: row j holds the derivatives of output j, and entry (j, i) "
                    "is d f_j / d x_i.",
                ),
                (
                    expected.cumsum(dim=0),
                    "row j is the sum of rows 0 to j: the gradients pile up in x.grad from one backward pass "
                    "to the next. Reset it before each pass.",
                ),
                (
                    expected.sum(dim=0).expand(m, n),
                    "every row is the sum of all rows: the gradients pile up in x.grad from one backward pass "
                    "to the next, and every row you kept is that same tensor. Reset it before each pass.",
                ),
                (
                    expected[-1].expand(m, n),
                    "every row equals the last one: you kept x.grad itself, the same tensor that each "
                    "backward pass fills again. Keep a copy of each row, or set x.grad = None before each pass.",
                ),
            ],
        )
        again = call(jacobian, f, x)
        close(
            again, expected, f"a second call of jacobian(f, x) for {text} (do gradients pile up?)", atol=1e-5
        )


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


def _circle_points(centre: tuple[float, float], radius: float, n: int, seed: int, arc: float) -> torch.Tensor:
    """n noisy points on an arc of `arc` radians of a circle (a full circle when arc = 2 pi)."""
    angles = torch.linspace(0.0, arc, n + 1)[:-1] if arc >= 2 * math.pi else torch.linspace(0.0, arc, n)
    radii = radius + 0.05 * randn(n, seed=seed)
    return torch.stack([centre[0] + radii * angles.cos(), centre[1] + radii * angles.sin()], dim=1)


def _circle_descent(
    points: torch.Tensor, lr: float, steps: int, *, reset: bool = True, loss: str = "mean"
) -> tuple[float, float, float]:
    """The reference gradient descent in float64 (and the trajectories of two frequent mistakes)."""
    p = points.double()
    centre = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    radius = torch.ones((), dtype=torch.float64, requires_grad=True)
    piled: tuple[torch.Tensor, ...] | None = None
    for _ in range(steps):
        if loss == "squared":  # squared distances against r ** 2
            per_point = (((p - centre) ** 2).sum(dim=1) - radius**2) ** 2
        elif loss == "no-sqrt":  # squared distances against r
            per_point = (((p - centre) ** 2).sum(dim=1) - radius) ** 2
        else:
            per_point = (((p - centre) ** 2).sum(dim=1).sqrt() - radius) ** 2
        grads = torch.autograd.grad(per_point.sum() if loss == "sum" else per_point.mean(), (centre, radius))
        # without the reset, each step uses the sum of all gradients so far
        piled = grads if reset or piled is None else (piled[0] + grads[0], piled[1] + grads[1])
        with torch.no_grad():
            centre -= lr * piled[0]
            radius -= lr * piled[1]
    return centre[0].item(), centre[1].item(), radius.item()


def _circle_result(result, what: str) -> tuple[float, float, float]:
    expect(
        isinstance(result, tuple) and len(result) == 3,
        f"fit_circle should return a tuple (cx, cy, r) of three numbers, got {type(result).__name__}"
        + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        + ".",
    )
    expect(
        all(isinstance(v, float) for v in result),
        f"cx, cy and r should be Python floats (use .item() or .tolist()), got "
        f"{', '.join(type(v).__name__ for v in result)}.",
    )
    expect(
        all(math.isfinite(v) for v in result),
        f"{what} the result is not finite {result}: training diverged.",
    )
    return result


def _near(a: tuple[float, ...], b: tuple[float, ...], tol: float) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


@exercise("ex-2.5")
def check_ex_2_5(fit_circle):
    # one step from c = (0, 0), r = 1 pins down the start, the loss and the update
    points = _circle_points((1.5, -0.5), 2.0, 40, seed=5, arc=2 * math.pi)
    original = points.clone()
    lr = 0.05
    one = _circle_result(call(fit_circle, points, lr=lr, steps=1), "after one step")
    expect(torch.equal(points, original), "fit_circle changed the caller's points: leave them as they were.")
    want = _circle_descent(points, lr, 1)
    if not _near(one, want, 1e-4):
        mistakes = [
            (
                (0.0, 0.0, 1.0),
                "after one step your result is still the start (0, 0, 1): take exactly `steps` steps.",
            ),
            (
                _circle_descent(points, lr, 1, loss="sum"),
                "your first step is N times too long: the loss is the MEAN over the points, not their sum.",
            ),
            (
                _circle_descent(points, -lr, 1),
                "your first step goes uphill: step against the gradient (subtract lr * grad).",
            ),
            (
                _circle_descent(points, lr, 1, loss="squared"),
                "you compare squared distances with r ** 2: the loss compares the distance itself with r.",
            ),
            (
                _circle_descent(points, lr, 1, loss="no-sqrt"),
                "the distance is missing its square root: ||p - c|| = sqrt(dx ** 2 + dy ** 2).",
            ),
        ]
        mistakes += [
            ((want[i], want[j], want[k]), "the values are in the wrong order: return (cx, cy, r).")
            for i, j, k in itertools.permutations(range(3))
            if (i, j, k) != (0, 1, 2)
        ]
        for values, message in mistakes:
            if _near(one, values, 1e-4):
                raise ExerciseFailed(message)
        raise ExerciseFailed(
            f"after exactly one step (lr={lr}) you return (cx, cy, r) = ({one[0]:.4f}, {one[1]:.4f}, {one[2]:.4f}), "
            f"expected ({want[0]:.4f}, {want[1]:.4f}, {want[2]:.4f}). Start from c = (0, 0) and r = 1, use the mean "
            "squared distance from the circle, and step each parameter by -lr times its gradient."
        )
    # a few steps: the gradients of one step must not leak into the next
    few = _circle_result(call(fit_circle, points, lr=lr, steps=3), "after three steps")
    want = _circle_descent(points, lr, 3)
    if not _near(few, want, 1e-4) and _near(few, _circle_descent(points, lr, 3, reset=False), 1e-4):
        raise ExerciseFailed(
            "your first step is right but the next ones are not: the gradients pile up from step to "
            "step, because backward() adds to .grad. Reset them after each update."
        )
    # longer runs: a full circle, and half a circle (a flatter valley) in a non-contiguous tensor
    cases = [
        ("points all around a circle", 0.1, 60, points),
        (
            "points on half a circle",
            0.1,
            80,
            non_contiguous(_circle_points((0.8, 0.6), 1.5, 25, seed=6, arc=math.pi)),
        ),
    ]
    for text, rate, steps, data in cases:
        what = f"for {text} (lr={rate}, {steps} steps)"
        result = _circle_result(call(fit_circle, data, lr=rate, steps=steps), what)
        want = _circle_descent(data, rate, steps)
        expect(
            _near(result, want, 1e-3),
            f"{what} you return (cx, cy, r) = ({result[0]:.4f}, {result[1]:.4f}, {result[2]:.4f}), but "
            f"gradient descent reaches ({want[0]:.4f}, {want[1]:.4f}, {want[2]:.4f}). Is every step taken "
            "with fresh gradients, from the same start?",
        )


@exercise(
    "ex-2.6",
    forbid=(
        "torch.Tensor.backward",
        "torch.autograd.grad",
        "torch.autograd.backward",
        "torch.autograd.functional.jacobian",
        "torch.func.grad",
    ),
)
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
