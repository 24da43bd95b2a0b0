"""Plausible wrong answers for Chapter 5: each must make its check fail (not "not solved")."""

import math

import torch


def sgd_step_rebinds(model, lr):  # rebinding the loop variable: the model never changes
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p = p - lr * p.grad
    return model


def sgd_step_ascends(model, lr):  # wrong sign: gradient ascent
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p += lr * p.grad
    return model


def one_group(model):  # weight decay on the biases too
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)


def momentum_ignores_nesterov(param, grad, buf, lr, momentum, nesterov=False):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return param - lr * buf, buf


def momentum_lr_in_buffer(param, grad, buf, lr, momentum, nesterov=False):  # the textbook form, lr inside
    buf = lr * grad if buf is None else momentum * buf + lr * grad
    return param - (lr * grad + momentum * buf if nesterov else buf), buf


def adam_with_l2(param, grad, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas  # Adam's coupled decay instead of AdamW's
    grad = grad + weight_decay * param
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return param - lr * (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps), m, v


def adamw_no_bias_correction(param, grad, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return param - lr * m / (v.sqrt() + eps), m, v


def warmup_off_by_one(optimizer, warmup_steps, total_steps):
    def factor(s):
        if s < warmup_steps:
            return (s + 1) / warmup_steps
        return 0.5 * (1 + math.cos(math.pi * (s - warmup_steps) / (total_steps - warmup_steps)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def clip_each_tensor(grads, max_norm):  # clips every tensor by its own norm
    return [g * min(1.0, max_norm / (g.norm().item() + 1e-6)) for g in grads]


def clip_always(grads, max_norm):  # rescales even when the norm is already small
    total = torch.sqrt(sum((g**2).sum() for g in grads)).item()
    return [g * max_norm / total for g in grads]


def train_without_zero_grad(model, loss_fn, optimizer, scheduler, batches, max_norm):
    losses = []
    for x, y in batches:
        loss = loss_fn(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def train_clip_after_step(model, loss_fn, optimizer, scheduler, batches, max_norm):
    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        scheduler.step()
        losses.append(loss.item())
    return losses


WRONG = {
    "ex-5.1": lambda: sgd_step_rebinds,
    "ex-5.2": lambda: one_group,
    "ex-5.3": lambda: momentum_ignores_nesterov,
    "ex-5.4": lambda: adam_with_l2,
    "ex-5.5": lambda: lambda params: torch.optim.Adam(params, lr=1e-3),  # the default: far too slow here
    "ex-5.6": lambda: lambda opt, warmup, total: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total),
    "ex-5.7": lambda: clip_each_tensor,
    "ex-5.8": lambda: train_without_zero_grad,
}

# more wrong answers, checked by tests/test_optim_viz.py
MORE_WRONG = {
    "ex-5.1": [sgd_step_ascends],
    "ex-5.3": [momentum_lr_in_buffer],
    "ex-5.4": [adamw_no_bias_correction],
    "ex-5.5": [lambda params: torch.optim.SGD(params, lr=1e-2)],  # diverges
    "ex-5.6": [warmup_off_by_one],
    "ex-5.7": [clip_always],
    "ex-5.8": [train_clip_after_step],
}
