"""Plausible wrong answers for Chapter 2: each must make its check fail (not "not solved")."""

import torch


def _grad_of_changes_its_input(f, x):  # turns the caller's x into a leaf that accumulates gradients
    x.requires_grad_(True)
    f(x).backward()
    return x.grad


def _derivative_weighted_by_output(f, x):  # passes the output itself as `gradient`
    x = x.detach().clone().requires_grad_()
    y = f(x)
    y.backward(gradient=y.detach())
    return x.grad


def _count_every_path(t):  # no memory of visited nodes: shared nodes counted once per path
    counts = {}

    def visit(node):
        counts[type(node).__name__] = counts.get(type(node).__name__, 0) + 1
        for child, _ in node.next_functions:
            if child is not None:
                visit(child)

    visit(t.grad_fn)
    return counts


def _sgd_step_out_of_place(params, lr):  # rebinds a local name: the caller's tensors never change
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p = p - lr * p.grad
    return params


def _fit_line_without_zero_grad(x, y, lr, steps):  # gradients pile up from step to step
    w = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    for _ in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
    return w.item(), b.item()


def _numerical_grad_over_eps(f, x, eps=1e-6):  # central difference divided by eps instead of 2 * eps
    grad = torch.zeros_like(x)
    flat, g = x.clone().view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = f(flat.view_as(x)).item()
        flat[i] = old - eps
        down = f(flat.view_as(x)).item()
        flat[i] = old
        g[i] = (up - down) / eps
    return grad


class SiLUForgotProductRule(torch.autograd.Function):  # backward returns only sigmoid(x) * grad_output
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


WRONG = {
    "ex-2.1": lambda: _grad_of_changes_its_input,
    "ex-2.2": lambda: _derivative_weighted_by_output,
    "ex-2.3": lambda: _count_every_path,
    "ex-2.4": lambda: _sgd_step_out_of_place,
    "ex-2.5": lambda: _fit_line_without_zero_grad,
    "ex-2.6": lambda: _numerical_grad_over_eps,
    "ex-2.7": lambda: lambda x: x.round(),  # true derivative of rounding: zero everywhere
    "ex-2.8": lambda: SiLUForgotProductRule,
}
