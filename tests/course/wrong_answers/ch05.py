"""Plausible wrong answers for Chapter 5, each with the words its check's feedback must contain."""

import math
import warnings

import torch
from torch import nn


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


def _decay_groups(
    model, *, rule="type", ties="none", frozen=False, kind="adamw", lr=1e-3, default=False, walk="modules"
):
    """ex-5.2 written with one mistake: the rule that picks decayed parameters, how shared (tied) parameters
    are handled, whether frozen ones are left out, the optimizer class, its lr, an explicit weight_decay=0.0,
    the walk over the model (children() misses the model's own parameters and grandchildren)."""
    decay, keep = [], []
    for module in model.children() if walk == "children" else model.modules():
        for name, p in module.named_parameters(recurse=False):
            if rule == "type":
                decayed = isinstance(module, (nn.Linear, nn.Conv2d)) and name == "weight"
            elif rule == "linear_only":
                decayed = isinstance(module, nn.Linear) and name == "weight"
            elif rule == "name":
                decayed = name == "weight"
            else:  # the lesson's rule, by shape
                decayed = p.dim() > 1
            (decay if decayed else keep).append(p)
    if ties == "per_group":  # duplicates removed inside each group, not across the two
        decay, keep = list({id(p): p for p in decay}.values()), list({id(p): p for p in keep}.values())
    elif ties == "decay_wins":
        decay = list({id(p): p for p in decay}.values())
        keep = [p for p in {id(p): p for p in keep}.values() if all(p is not q for q in decay)]
    elif ties == "keep_wins":
        keep = list({id(p): p for p in keep}.values())
        decay = [p for p in {id(p): p for p in decay}.values() if all(p is not q for q in keep)]
    if not frozen:
        decay, keep = [p for p in decay if p.requires_grad], [p for p in keep if p.requires_grad]
    groups = [{"params": decay, "weight_decay": 0.01}, {"params": keep}]
    if not default:
        groups[1]["weight_decay"] = 0.0
    optimizer_class = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}[kind]
    return optimizer_class(groups, lr=lr)


def lesson_dim_rule(model):  # the lesson's cell, with AdamW and without frozen parameters
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() <= 1]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3
    )


def decay_by_attribute(model):  # appends module.bias even for a layer built with bias=False
    decay, keep = [], []
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            decay.append(module.weight)
            keep.append(module.bias)
        else:
            keep += list(module.parameters(recurse=False))
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": keep, "weight_decay": 0.0}], lr=1e-3
    )


def groups_not_optimizer(model):  # the parameter groups, never handed to AdamW
    optimizer = _decay_groups(model, ties="keep_wins")
    return [{**group, "params": list(group["params"])} for group in optimizer.param_groups]


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


def _sgd_step_with_optim(model, lr):
    torch.optim.SGD(model.parameters(), lr=lr).step()
    return model


def _clip_with_torch(grads, max_norm):
    params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params]


WRONG = {
    "ex-5.1": [
        (lambda: _sgd_step_with_optim, "torch.optim.Optimizer, which"),
        (lambda: sgd_step_rebinds, "Rebinding a name"),
        (lambda: sgd_step_ascends, "moved *up* the gradient"),
        (lambda: sgd_step_without_no_grad, "torch.no_grad()"),
        (lambda: sgd_step_new_tensors, "replaced by new tensors"),
        (lambda: sgd_step_clears_grad, "changed or cleared"),
        (lambda: sgd_step_no_none_check, ".grad that is None"),
        (lambda: sgd_step_no_return, "forget `return`"),
    ],
    "ex-5.2": [
        (lambda: lesson_dim_rule, "p.dim() > 1"),
        (lambda: lambda model: _decay_groups(model, rule="dim", ties="keep_wins"), "p.dim() > 1"),
        (lambda: lambda model: _decay_groups(model, rule="name", ties="keep_wins"), "normalisation layer"),
        (
            lambda: lambda model: _decay_groups(model, rule="linear_only", ties="keep_wins"),
            "Conv2d, is not decayed",
        ),
        (lambda: lambda model: _decay_groups(model), "appears twice"),
        (lambda: lambda model: _decay_groups(model, ties="per_group"), "appear in both"),
        (lambda: lambda model: _decay_groups(model, ties="decay_wins"), "shared (tied)"),
        (lambda: lambda model: _decay_groups(model, ties="keep_wins", frozen=True), "requires_grad=False"),
        (lambda: lambda model: _decay_groups(model, ties="keep_wins", kind="adam"), "decoupled"),
        (lambda: lambda model: _decay_groups(model, ties="keep_wins", kind="sgd", lr=0.1), "AdamW, got SGD"),
        (lambda: lambda model: _decay_groups(model, ties="keep_wins", lr=1e-2), "expected lr=1e-3"),
        (lambda: lambda model: _decay_groups(model, ties="keep_wins", default=True), "AdamW's default"),
        (lambda: groups_not_optimizer, "AdamW, got list"),
        (lambda: decay_by_attribute, "NoneType"),
        (lambda: lambda model: _decay_groups(model, ties="keep_wins", walk="children"), "are in no group"),
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
        (lambda: _clip_with_torch, "torch.nn.utils.clip_grad_norm_, which"),
        (lambda: clip_each_tensor, "one scale factor for all tensors"),
        (lambda: clip_always, "only when that norm exceeds"),
        (lambda: clip_in_place, "modified in place"),
        (lambda: clip_values, "one scale factor"),
        (lambda: clip_concatenated, "expected a list of 2 tensors"),
    ],
    "ex-5.8": [
        (lambda: lambda *a: [torch.tensor(v) for v in _train(*a)], "holding Tensors"),
        (lambda: train_without_zero_grad, "never clears the gradients"),
        (lambda: train_clip_after_step, "not clipped before the update"),
        (lambda: lambda *a: _train(*a, mistake="scheduler_first"), "advances the scheduler before"),
        (lambda: lambda *a: _train(*a, mistake="no_clip"), "not clipped before the update"),
        (lambda: lambda *a: _train(*a, mistake="tensor_losses"), "Python floats"),
    ],
}
