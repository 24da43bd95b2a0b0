"""Plausible wrong answers for Chapter 5, each with the words its check's feedback must contain."""

import math
import warnings

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


# ---- further wrong answers -------------------------------------------------------------------------


def sgd_step_without_no_grad(model, lr):
    for p in model.parameters():
        if p.grad is not None:
            p -= lr * p.grad  # autograd refuses an in-place change of a leaf that requires grad
    return model


def sgd_step_new_tensors(model, lr):
    for p in model.parameters():
        if p.grad is not None:
            p.data = p.data - lr * p.grad
    return model


def sgd_step_clears_grad(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= lr * p.grad
                p.grad = None
    return model


def sgd_step_no_none_check(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return model


def sgd_step_no_return(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= lr * p.grad


def _groups(model, *, decay_dims="matrix", kind="sgd", momentum=0.9, lr=0.1, copy=False, overlap=False):
    params = list((__import__("copy").deepcopy(model) if copy else model).parameters())
    matrices = [p for p in params if p.dim() > 1]
    vectors = [p for p in params if p.dim() <= 1]
    if decay_dims == "vector":
        matrices, vectors = vectors, matrices
    groups = [
        {"params": matrices, "weight_decay": 1e-4},
        {"params": vectors + (matrices[:1] if overlap else [])},
    ]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr)
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=0.0)


def momentum_ema(param, grad, buf, lr, momentum, nesterov=False):  # an EMA, not SGD's buffer
    buf = grad.clone() if buf is None else momentum * buf + (1 - momentum) * grad
    step = grad + momentum * buf if nesterov else buf
    return param - lr * step, buf


def momentum_ascends(param, grad, buf, lr, momentum, nesterov=False):
    buf = grad.clone() if buf is None else momentum * buf + grad
    step = grad + momentum * buf if nesterov else buf
    return param + lr * step, buf


def nesterov_old_buffer(param, grad, buf, lr, momentum, nesterov=False):
    old = buf
    buf = grad.clone() if buf is None else momentum * buf + grad
    step = grad + momentum * (old if old is not None else grad) if nesterov else buf
    return param - lr * step, buf


def adamw_run_written(
    params, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, *, mistake=""
):  # AdamW over steps where some gradients are None, with one slip named by `mistake`
    beta1, beta2 = betas
    params = params if mistake == "in_place" else [p.clone() for p in params]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    counts = [0] * len(params)
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            if g is None and mistake == "none_as_zero":
                g = torch.zeros_like(params[i])  # "no gradient" read as "a zero gradient"
            if g is not None and mistake == "zero_as_none" and g.abs().sum() == 0:
                g = None  # a zero gradient read as "no gradient"
            if g is None:
                if mistake == "decay_skipped":
                    params[i] = params[i] * (1 - lr * weight_decay)  # decays a parameter step() skips
                continue
            counts[i] += 1
            t_i = t if mistake == "global_t" else counts[i]  # the loop's step, not the parameter's
            if mistake == "coupled":
                g = g + weight_decay * params[i]  # Adam's L2 form
            elif mistake == "in_place":
                params[i].mul_(1 - lr * weight_decay)
            elif mistake != "decay_after":
                params[i] = params[i] * (1 - lr * weight_decay)
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g**2
            if mistake == "no_bias_correction":
                update = m[i] / (v[i].sqrt() + eps)
            else:
                update = (m[i] / (1 - beta1**t_i)) / ((v[i] / (1 - beta2**t_i)).sqrt() + eps)
            if mistake == "in_place":
                params[i].sub_(lr * update)
            else:
                params[i] = params[i] - lr * update
            if mistake == "decay_after":
                params[i] = params[i] * (1 - lr * weight_decay)
    return tuple(params) if mistake == "tuple" else params


def adamw_run_with_torch_optim(params, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    ps = [p.clone().requires_grad_(True) for p in params]  # right numbers, but not written out by hand
    optimizer = torch.optim.AdamW(ps, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    for step_grads in grads:
        for p, g in zip(ps, step_grads):
            p.grad = g
        optimizer.step()
    return [p.detach() for p in ps]


_ADAM_MOMENTS: dict = {}  # kept between calls: the state of an optimizer, not of one run


def adamw_run_remembers(params, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    params = [p.clone() for p in params]
    for i, p in enumerate(params):
        _ADAM_MOMENTS.setdefault(i, [torch.zeros_like(p), torch.zeros_like(p), 0])
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is None:
                continue
            state = _ADAM_MOMENTS[i]
            state[2] += 1
            state[0] = beta1 * state[0] + (1 - beta1) * g
            state[1] = beta2 * state[1] + (1 - beta2) * g**2
            params[i] = params[i] * (1 - lr * weight_decay)
            m_hat, v_hat = state[0] / (1 - beta1 ** state[2]), state[1] / (1 - beta2 ** state[2])
            params[i] = params[i] - lr * m_hat / (v_hat.sqrt() + eps)
    return params


class NotAnOptimizer:
    def __init__(self, params):
        self.params = list(params)

    def step(self):
        pass

    def zero_grad(self):
        pass


def _warmup(optimizer, warmup_steps, total_steps, *, cosine_over="rest", start=0):
    def factor(s):
        if s < warmup_steps:
            return (s + start) / warmup_steps
        span = total_steps - warmup_steps if cosine_over == "rest" else total_steps
        return 0.5 * (1 + math.cos(math.pi * (s - warmup_steps) / span))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def warmup_on_new_optimizer(optimizer, warmup_steps, total_steps):
    fresh = torch.optim.SGD(optimizer.param_groups[0]["params"], lr=optimizer.param_groups[0]["lr"])
    return _warmup(fresh, warmup_steps, total_steps)


def clip_in_place(grads, max_norm):
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / total)
    return grads


def clip_values(grads, max_norm):
    return [g.clamp(-max_norm, max_norm) for g in grads]


def clip_concatenated(grads, max_norm):
    flat = torch.cat([g.flatten() for g in grads])
    return flat * min(1.0, max_norm / flat.norm().item())


def _train(model, loss_fn, optimizer, scheduler, batches, max_norm, *, mistake=""):
    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if mistake == "scheduler_first":
            with warnings.catch_warnings():  # the slip PyTorch warns about
                warnings.simplefilter("ignore")
                scheduler.step()
        if mistake != "no_clip":
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        if mistake != "scheduler_first":
            scheduler.step()
        losses.append(loss if mistake == "tensor_losses" else loss.item())
    return losses


WRONG = {
    "ex-5.1": [
        (lambda: sgd_step_rebinds, "Rebinding a name"),
        (lambda: sgd_step_ascends, "moved *up* the gradient"),
        (lambda: sgd_step_without_no_grad, "torch.no_grad()"),
        (lambda: sgd_step_new_tensors, "replaced by new tensors"),
        (lambda: sgd_step_clears_grad, "changed or cleared"),
        (lambda: sgd_step_no_none_check, ".grad that is None"),
        (lambda: sgd_step_no_return, "forget `return`"),
    ],
    "ex-5.2": [
        (lambda: one_group, "weight_decay=0.0001, expected 0.0"),
        (lambda: lambda model: _groups(model, decay_dims="vector"), "more than one dimension only"),
        (lambda: lambda model: _groups(model, kind="adam"), "expected a torch.optim.SGD"),
        (lambda: lambda model: _groups(model, momentum=0.0), "momentum=0.0, expected 0.9"),
        (lambda: lambda model: _groups(model, copy=True), "not copies"),
        (lambda: lambda model: _groups(model, lr=0.01), "lr=0.01, expected 0.1"),
    ],
    "ex-5.3": [
        (lambda: momentum_ignores_nesterov, "Nesterov steps along"),
        (lambda: momentum_lr_in_buffer, "buffer is momentum * buf + grad"),
        (lambda: momentum_ema, "buffer is momentum * buf + grad"),
        (lambda: momentum_ascends, "steps along the new buffer"),
        (lambda: nesterov_old_buffer, "Nesterov steps along grad + momentum * new_buf"),
    ],
    "ex-5.4": [
        (lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="global_t"), "which step count"),
        (
            lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="none_as_zero"),
            "as if the gradient were zero",
        ),
        (
            lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="decay_skipped"),
            "weight decay included",
        ),
        (
            lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="zero_as_none"),
            "a zero gradient was treated",
        ),
        (lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="coupled"), "Adam's L2 form"),
        (lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="decay_after"), "after the Adam step"),
        (
            lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="no_bias_correction"),
            "bias correction is missing",
        ),
        (lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="in_place"), "changed in place"),
        (lambda: lambda *a, **k: adamw_run_written(*a, **k, mistake="tuple"), "should return a list"),
        (lambda: adamw_run_remembers, "a second call"),
        (lambda: adamw_run_with_torch_optim, "without torch.optim"),
    ],
    "ex-5.5": [
        (lambda: lambda params: torch.optim.Adam(params, lr=1e-3), "stops short"),
        (lambda: lambda params: torch.optim.SGD(params, lr=1e-2), "diverged"),
        (lambda: lambda params: torch.optim.SGD(params, lr=1e-4), "stops short"),
        (lambda: NotAnOptimizer, "built-in torch.optim optimizer"),
        (lambda: lambda params: torch.optim.SGD(params, lr=1e-3, momentum=0.5), "stops short"),
    ],
    "ex-5.6": [
        (
            lambda: lambda opt, warmup, total: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total),
            "warm-up the factor grows",
        ),
        (lambda: warmup_off_by_one, "warm-up the factor grows"),
        (lambda: lambda o, w, t: _warmup(o, w, t, cosine_over="all"), "half a cosine"),
        (lambda: lambda o, w, t: torch.optim.lr_scheduler.StepLR(o, step_size=w), "warm-up"),
        (lambda: warmup_on_new_optimizer, "attached to the optimizer"),
        (lambda: lambda o, w, t: lambda s: s / w, "should return a torch.optim.lr_scheduler"),
    ],
    "ex-5.7": [
        (lambda: clip_each_tensor, "one scale factor for all tensors"),
        (lambda: clip_always, "only when that norm exceeds"),
        (lambda: clip_in_place, "modified in place"),
        (lambda: clip_values, "one scale factor"),
        (lambda: clip_concatenated, "expected a list of 2 tensors"),
    ],
    "ex-5.8": [
        (lambda: train_without_zero_grad, "never clears the gradients"),
        (lambda: train_clip_after_step, "not clipped before the update"),
        (lambda: lambda *a: _train(*a, mistake="scheduler_first"), "advances the scheduler before"),
        (lambda: lambda *a: _train(*a, mistake="no_clip"), "not clipped before the update"),
        (lambda: lambda *a: _train(*a, mistake="tensor_losses"), "Python floats"),
    ],
}
