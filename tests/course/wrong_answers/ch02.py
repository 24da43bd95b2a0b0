"""Plausible wrong answers for Chapter 2, each with the words its check's feedback must contain."""

import torch


def _grad_of_changes_its_input(f, x):  # turns the caller's x into a leaf that accumulates gradients
    x.requires_grad_(True)
    f(x).backward()
    return x.grad


def _grad_of_returns_x(f, x):
    leaf = x.clone().requires_grad_()
    f(leaf).backward()
    return leaf  # the leaf, not its .grad


def _grad_of_cached_leaf():
    cache = {}

    def grad_of(f, x):  # one leaf per input, reused: the second call adds to the first gradient
        leaf = cache.setdefault(id(x), x.clone().requires_grad_())
        f(leaf).backward()
        return leaf.grad

    return grad_of


def _grad_of_list(f, x):
    leaf = x.clone().requires_grad_()
    f(leaf).backward()
    return leaf.grad.tolist()


def _jacobian(
    f,
    x,
    *,
    reset="none",
    retain=True,
    weights="one-hot",
    refresh=False,
    stack=True,
    copy=True,
    copy_rows=False,
):
    """A Jacobian by one backward pass per row, with one mistake chosen by the keywords."""
    leaf = x.detach().clone().requires_grad_() if copy else x.requires_grad_()
    y = f(leaf)
    rows = []
    for j in range(len(y)):
        if refresh:  # a fresh graph for every row: f is called m times
            y = f(leaf)
        u = torch.zeros_like(y)
        u[j] = 1.0
        if reset == "none":
            leaf.grad = None
        elif reset == "zero_" and leaf.grad is not None:
            leaf.grad.zero_()  # the same tensor, refilled by the next pass
        y.backward(gradient=u, retain_graph=retain)
        rows.append(leaf.grad.clone() if copy_rows else leaf.grad)
    if weights == "ones":
        leaf.grad = None
        y.backward(gradient=torch.ones_like(y))
        return leaf.grad
    if not stack:
        return rows
    if weights == "float32":  # rows copied into a default-dtype tensor
        out = torch.zeros(len(rows), len(x))
        for j, row in enumerate(rows):
            out[j] = row
        return out
    result = torch.stack(rows)
    return result.T if weights == "transposed" else result


def _fit_circle(points, lr, steps, *, reset=True, reduce="mean", model="distance", start=None, as_float=True):
    centre = torch.zeros(2) if start is None else points.mean(dim=0)
    centre.requires_grad_(True)
    radius = torch.ones((), requires_grad=True)
    for _ in range(steps):
        squared = ((points - centre) ** 2).sum(dim=1)
        if model == "squared":
            per_point = (squared - radius**2) ** 2
        elif model == "no-sqrt":
            per_point = (squared - radius) ** 2
        else:
            per_point = (squared.sqrt() - radius) ** 2
        (per_point.mean() if reduce == "mean" else per_point.sum()).backward()
        with torch.no_grad():
            centre -= lr * centre.grad
            radius -= lr * radius.grad
        if reset:
            centre.grad = radius.grad = None
    if not as_float:
        return centre[0].detach(), centre[1].detach(), radius.detach()
    cx, cy = centre.tolist()
    return cx, cy, radius.item()


def _fit_circle_uphill(points, lr, steps):
    return _fit_circle(points, -lr, steps)


def _count_every_path(t):  # no memory of visited nodes: shared nodes counted once per path
    counts = {}

    def visit(node):
        counts[type(node).__name__] = counts.get(type(node).__name__, 0) + 1
        for child, _ in node.next_functions:
            if child is not None:
                visit(child)

    visit(t.grad_fn)
    return counts


def _count_with_name_method(t):  # node.name() is not the class name for AccumulateGrad
    seen, stack, counts = set(), [t.grad_fn], {}
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        counts[node.name()] = counts.get(node.name(), 0) + 1
        stack += [child for child, _ in node.next_functions]
    return counts


def _count_top_level_only(t):  # no recursion: only the root and its children
    counts = {type(t.grad_fn).__name__: 1}
    for child, _ in t.grad_fn.next_functions:
        if child is not None:
            counts[type(child).__name__] = counts.get(type(child).__name__, 0) + 1
    return counts


def _count_kinds_only(t):  # a set of classes: every count is 1
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack += [child for child, _ in node.next_functions]
    return {type(node).__name__: 1 for node in seen}


def _count_as_list(t):
    return [(type(t.grad_fn).__name__, 1)]


def _sgd_step_out_of_place(params, lr):  # rebinds a local name: the caller's tensors never change
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p = p - lr * p.grad
    return params


def _sgd_step_keeps_grad(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
    return params


def _sgd_step_no_none_check(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad  # fails for the parameter whose .grad is None
            p.grad = None
    return params


def _sgd_step_without_no_grad(params, lr):
    for p in params:
        if p.grad is not None:
            p -= lr * p.grad
            p.grad = None
    return params


def _sgd_step_new_memory(params, lr):
    for p in params:
        if p.grad is not None:
            p.data = p.data - lr * p.grad
            p.grad = None
    return params


def _sgd_step_ascends(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p += lr * p.grad
                p.grad = None
    return params


def _numerical_grad(f, x, eps=1e-6, *, divide=2.0, nudge=1.0, dtype=None, in_place=False, flat=False):
    grad = torch.zeros(x.numel(), dtype=dtype or x.dtype)
    work = x if in_place else x.clone()
    view = work.view(-1)
    for i in range(view.numel()):
        old = view[i].item()
        view[i] = old + nudge * eps
        up = f(work).item()
        view[i] = old - nudge * eps
        down = f(work).item()
        if not in_place:
            view[i] = old
        grad[i] = (up - down) / (divide * eps)
    return grad if flat else grad.view(x.shape)


class _SiLU(torch.autograd.Function):
    """A SiLU with one mistake chosen by the subclasses."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return grad_output * (s + x * s * (1 - s))


class SiLUForgotProductRule(_SiLU):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


class SiLUForgotGradOutput(_SiLU):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return s + x * s * (1 - s)


class SiLUForwardIsSigmoid(_SiLU):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sigmoid(x)


class SiLUNothingSaved(_SiLU):
    @staticmethod
    def forward(ctx, x):
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        x = ctx.x  # never stored
        return grad_output * torch.sigmoid(x)


class SiLUModule(torch.nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


def _numerical_grad_by_autograd(f, x, eps=1e-6):  # the exact gradient, not finite differences
    leaf = x.detach().clone().requires_grad_()
    f(leaf).backward()
    return leaf.grad


WRONG = {
    "ex-2.1": [
        (lambda: _grad_of_changes_its_input, "changed its input"),
        (lambda: _grad_of_returns_x, "returned x itself"),
        (lambda: lambda f, x: f(x), "has shape ()"),
        (_grad_of_cached_leaf, "pile up"),
        (lambda: _grad_of_list, "torch.Tensor"),
    ],
    "ex-2.2": [
        (lambda: lambda f, x: torch.autograd.functional.jacobian(f, x), "asks you not to use"),
        (lambda: lambda f, x: torch.func.jacrev(f)(x), "torch.func.jacrev, which"),
        (lambda: lambda f, x: _jacobian(f, x, weights="transposed"), "swapped"),
        (lambda: lambda f, x: _jacobian(f, x, reset="keep"), "pile up"),
        (lambda: lambda f, x: _jacobian(f, x, reset="keep", copy_rows=True), "pile up"),
        (lambda: lambda f, x: _jacobian(f, x, reset="zero_"), "equals the last one"),
        (lambda: lambda f, x: _jacobian(f, x, weights="ones"), "sum of the jacobian's rows"),
        (lambda: lambda f, x: _jacobian(f, x, retain=False), "second time"),
        (lambda: lambda f, x: _jacobian(f, x, refresh=True, retain=False), "called f 5 times"),
        (lambda: lambda f, x: _jacobian(f, x, copy=False), "changed its input"),
        (lambda: lambda f, x: _jacobian(f, x, stack=False), "should be a torch.Tensor, got list"),
        (
            lambda: lambda f, x: _jacobian(f, x, weights="float32"),
            "dtype torch.float32, expected torch.float64",
        ),
    ],
    "ex-2.3": [
        (lambda: _count_every_path, "more than once"),
        (lambda: _count_with_name_method, "node names are wrong"),
        (lambda: _count_top_level_only, "node names are wrong"),
        (lambda: _count_kinds_only, "too small"),
        (lambda: _count_as_list, "should return a dict"),
    ],
    "ex-2.4": [
        (lambda: _sgd_step_out_of_place, "only rebinds"),
        (lambda: _sgd_step_keeps_grad, "gradients are still there"),
        (lambda: _sgd_step_no_none_check, ".grad that is None"),
        (lambda: _sgd_step_without_no_grad, "torch.no_grad()"),
        (lambda: _sgd_step_new_memory, "new memory"),
        (lambda: _sgd_step_ascends, "values differ"),
    ],
    "ex-2.5": [
        (lambda: lambda points, lr, steps: _fit_circle(points, lr, steps, reset=False), "pile up"),
        (lambda: lambda points, lr, steps: _fit_circle(points, lr, steps, reduce="sum"), "not their sum"),
        (
            lambda: lambda points, lr, steps: _fit_circle(points, lr, steps, model="squared"),
            "squared distances",
        ),
        (lambda: lambda points, lr, steps: _fit_circle(points, lr, steps, model="no-sqrt"), "square root"),
        (lambda: lambda points, lr, steps: _fit_circle(points, lr, steps, as_float=False), "Python floats"),
        (lambda: lambda points, lr, steps: _fit_circle(points, lr, steps - 1), "still the start"),
        (lambda: _fit_circle_uphill, "uphill"),
        (lambda: lambda points, lr, steps: _fit_circle(points, lr, steps, start="mean"), "expected ("),
        (lambda: lambda points, lr, steps: _fit_circle(points, lr, steps)[::-1], "wrong order"),
    ],
    "ex-2.6": [
        (lambda: _numerical_grad_by_autograd, "Tensor.backward, which"),
        (lambda: lambda f, x, eps=1e-6: torch.func.grad(f)(x), "torch.func.grad, which"),
        (lambda: lambda f, x, eps=1e-6: _numerical_grad(f, x, eps, divide=1.0), "twice the true"),
        (lambda: lambda f, x, eps=1e-6: _numerical_grad(f, x, eps, dtype=torch.float32), "float64"),
        (lambda: lambda f, x, eps=1e-6: _numerical_grad(f, x, eps, in_place=True), "changed the caller's x"),
        (lambda: lambda f, x, eps=1e-6: _numerical_grad(f, x, eps, nudge=2.0), "twice the true"),
        (lambda: lambda f, x, eps=1e-6: _numerical_grad(f, x, eps, divide=4.0), "half the true"),
        (lambda: lambda f, x, eps=1e-6: _numerical_grad(f, x, eps, flat=True), "has shape (6,)"),
    ],
    "ex-2.7": [
        (lambda: lambda x: x.round(), "all zeros"),
        (lambda: lambda x: x.round().detach(), "does not require grad"),
        (lambda: lambda x: x + (x.round() - x), "all zeros"),
        (lambda: lambda x: x, "does not round"),
        (lambda: lambda x: x.detach().round() + x, "values differ"),
        (lambda: lambda x: x.floor() + (x - x.detach()), "values differ"),
    ],
    "ex-2.8": [
        (lambda: SiLUForgotProductRule, "gradcheck"),
        (lambda: SiLUForgotGradOutput, "gradcheck"),
        (lambda: SiLUForwardIsSigmoid, "forward pass"),
        (lambda: SiLUNothingSaved, "your code raised AttributeError"),
        (lambda: SiLUModule, "torch.autograd.Function"),
    ],
}
