"""Checks for Chapter 5 (optim: how parameters learn)."""

import copy
import math
import warnings
from typing import Any

import torch
from torch import nn

from ..exercises import ExerciseFailed, call, exercise, expect
from ._common import close, generator, non_contiguous
from ._common import seeded as _seeded


def _close(actual, expected, what, hint, atol=1e-6):
    """expect_tensor, with a hint appended to its message."""
    close(actual, expected, what, hint=hint, atol=atol)


# ---- ex-5.1: gradient descent by hand -----------------------------------------------------------


def _model_with_grads(seed):
    def make():
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        x, y = torch.randn(8, 4), torch.randn(8, 2)
        return model, x, y

    model, x, y = _seeded(seed, make)
    model[2].bias.requires_grad_(False)  # a frozen parameter: its .grad stays None
    nn.functional.mse_loss(model(x), y).backward()
    return model


@exercise("ex-5.1", forbid=("torch.optim.Optimizer.__init__",))
def check_ex_5_1(sgd_step):
    for seed, lr in ((0, 0.05), (1, 0.5)):
        model = _model_with_grads(seed)
        params = list(model.parameters())
        originals = [p.detach().clone() for p in params]
        grads = [None if p.grad is None else p.grad.clone() for p in params]
        ids, pointers = [id(p) for p in params], [p.data_ptr() for p in params]
        reference = copy.deepcopy(model)
        for p_ref, g in zip(reference.parameters(), grads):
            p_ref.grad = None if g is None else g.clone()
        torch.optim.SGD(reference.parameters(), lr=lr).step()

        result = call(sgd_step, model, lr)
        expect(result is model, "sgd_step should return the model it was given (the same object).")
        after = list(model.parameters())
        expect(
            [id(p) for p in after] == ids and [p.data_ptr() for p in after] == pointers,
            "the model's parameters were replaced by new tensors: update the existing ones in place.",
        )
        expect(
            any(not torch.equal(p.detach(), o) for p, o in zip(after, originals)),
            "no parameter changed. Rebinding a name (p = p - ...) does not change the model: "
            "update the tensor in place, inside torch.no_grad().",
        )
        names = [name for name, _ in model.named_parameters()]
        for name, p, p_ref, g, o in zip(names, after, reference.parameters(), grads, originals):
            if g is None:
                expect(
                    torch.equal(p.detach(), o), f"{name} has no gradient (.grad is None) and must not change."
                )
                continue
            expect(
                p.grad is not None and torch.equal(p.grad, g),
                f"the gradient of {name} was changed or cleared: sgd_step must leave .grad as it is.",
            )
            expect(
                not torch.allclose(p.detach(), o + lr * g, atol=1e-7),
                f"{name} moved *up* the gradient: gradient descent subtracts lr * grad.",
            )
            _close(
                p.detach(),
                p_ref.detach(),
                f"{name} after one step with lr={lr}",
                "Each parameter should become p - lr * p.grad.",
            )


# ---- ex-5.2: weight decay by layer type ---------------------------------------------------------

_DECAYED_LAYERS = (nn.Linear, nn.Conv2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


class _TiedLanguageModel(nn.Module):
    """An output layer that reuses the token table (tied), a frozen pretrained block, a 2-D parameter of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = nn.Embedding(11, 6)
        self.pos = nn.Parameter(torch.zeros(5, 6))  # a learned positional table held by the model itself
        self.body = nn.Sequential(nn.Linear(6, 6), nn.LayerNorm(6))
        self.body.requires_grad_(False)  # pretrained and frozen
        self.norm = nn.LayerNorm(6)
        self.proj = nn.Linear(6, 6, bias=False)
        self.head = nn.Linear(6, 11)
        self.head.weight = self.tokens.weight  # tied: one Parameter held by two modules

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.tokens(ids) + self.pos[: ids.shape[1]]
        return self.head(self.proj(self.norm(self.body(h))))


class _SharedLinear(nn.Module):
    """Two Linear layers sharing one weight (and an untied embedding table)."""

    def __init__(self) -> None:
        super().__init__()
        self.words = nn.Embedding(13, 4)
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.b.weight = self.a.weight
        self.out = nn.Linear(4, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.b(torch.relu(self.a(self.words(ids).mean(1)))))


def _small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, bias=False),
        nn.Flatten(),
        nn.Linear(6 * 3 * 3, 5),
    )


def _holders(model: nn.Module) -> dict[int, list[tuple[str, nn.Module, str]]]:
    """For each parameter (by id): every (qualified name, module, attribute name) that holds it."""
    held: dict[int, list[tuple[str, nn.Module, str]]] = {}
    for prefix, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            held.setdefault(id(p), []).append((f"{prefix}.{name}" if prefix else name, module, name))
    return held


def _listed(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _wrongly_placed(holders: list[tuple[str, nn.Module, str]], decayed: bool) -> str:
    """The message for a trainable parameter in the wrong group (``decayed``: where the learner put it)."""
    names = " and ".join(f"`{qualified}`" for qualified, _, _ in holders)
    kinds = {type(module).__name__ for _, module, _ in holders}
    if len(holders) > 1:
        shared = f"{names} are one shared (tied) parameter, held by {' and '.join(sorted(kinds))}"
        if decayed:
            return (
                f"{shared}: it is decayed, but a shared parameter is decayed only when every module that "
                "holds it is a Linear or Conv2d holding it as its weight (a tied embedding table is not)."
            )
        return f"{shared}: every module that holds it uses it as a Linear/Conv2d weight, so it should be decayed."
    _, module, attribute = holders[0]
    if not decayed:
        return (
            f"{names}, the weight of a {type(module).__name__}, is not decayed: the weight of every nn.Linear "
            "and nn.Conv2d goes in the group with weight_decay=0.01."
        )
    if isinstance(module, nn.Embedding):
        return (
            f"{names}, the table of an nn.Embedding, is decayed: a rule by shape (p.dim() > 1) catches "
            "embedding tables too; decide by the type of the module that holds each parameter."
        )
    if isinstance(module, _NORMS):
        return (
            f"{names} belongs to a normalisation layer ({type(module).__name__}) and is decayed: only the "
            "weights of nn.Linear and nn.Conv2d are; a rule by the name 'weight' catches normalisation layers too."
        )
    if attribute == "bias":
        return f"{names} is a bias and is decayed: biases go in the group with weight_decay=0.0."
    return (
        f"{names}, a parameter the {type(module).__name__} holds itself (not a Linear/Conv2d weight), is "
        "decayed: a rule by shape (p.dim() > 1) catches it; decide by the type of the module that holds it."
    )


def _two_groups(optimizer: Any, label: str) -> tuple[list, list]:
    """The decayed and the undecayed parameter lists, after checking the optimizer's class and settings."""
    if isinstance(optimizer, torch.optim.Adam) and not isinstance(optimizer, torch.optim.AdamW):
        raise ExerciseFailed(
            "that is torch.optim.Adam: its weight_decay is an L2 term that gets rescaled; the exercise asks "
            "for torch.optim.AdamW (decoupled weight decay)."
        )
    expect(
        isinstance(optimizer, torch.optim.AdamW),
        f"build_optimizer should return a torch.optim.AdamW, got {type(optimizer).__name__}.",
    )
    groups = optimizer.param_groups
    expect(
        len(groups) == 2,
        f"for {label}: the optimizer has {len(groups)} parameter group(s), expected two (one with "
        "weight_decay=0.01, one with weight_decay=0.0).",
    )
    for group in groups:
        expect(
            math.isclose(group["lr"], 1e-3, rel_tol=1e-9),
            f"for {label}: a group has lr={group['lr']:g}, expected lr=1e-3.",
        )
    decays = sorted(group["weight_decay"] for group in groups)
    expect(
        decays != [0.01, 0.01],
        f"for {label}: both groups have weight_decay=0.01, which is AdamW's default: give the group that "
        "must not be decayed weight_decay=0.0 explicitly.",
    )
    expect(
        math.isclose(decays[0], 0.0, abs_tol=1e-12) and math.isclose(decays[1], 0.01, rel_tol=1e-9),
        f"for {label}: the groups have weight_decay={decays[0]:g} and {decays[1]:g}, expected 0.0 and 0.01.",
    )
    low, high = sorted(groups, key=lambda group: group["weight_decay"])
    return list(high["params"]), list(low["params"])


@exercise("ex-5.2")
def check_ex_5_2(build_optimizer):
    cases = (
        ("a CNN with BatchNorm2d", _small_cnn),
        ("a model whose Linear layers a and b share one weight", _SharedLinear),
        ("a language model with tied weights and a frozen block", _TiedLanguageModel),
    )
    for seed, (label, make) in enumerate(cases):
        model = _seeded(seed, make)
        holders = _holders(model)
        named = dict(model.named_parameters())  # one name per parameter
        values = {name: p.detach().clone() for name, p in named.items()}
        flags = {name: p.requires_grad for name, p in named.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about a duplicate in a group; we name it below
            try:
                optimizer = call(build_optimizer, model)
            except ValueError as error:
                if "more than one parameter group" not in str(error):
                    raise
                raise ExerciseFailed(
                    f"for {label}: torch refused your groups, some parameters appear in both. A parameter "
                    "shared by two modules (tied weights) is listed by each module that holds it: put every "
                    "parameter in exactly one group."
                ) from None
        expect(
            all(p.requires_grad == flags[name] for name, p in named.items()),
            f"for {label}: build_optimizer changed requires_grad of the model's parameters: only read it.",
        )
        expect(
            all(torch.equal(p.detach(), values[name]) for name, p in named.items()),
            f"for {label}: build_optimizer changed the model's parameters: only build the optimizer.",
        )
        decayed, kept = _two_groups(optimizer, label)
        name_of = {id(p): name for name, p in named.items()}
        for group, params in (("decayed", decayed), ("undecayed", kept)):
            expect(
                all(id(p) in name_of for p in params),
                f"for {label}: the {group} group holds tensors that are not the model's parameters: pass the "
                "model's own parameters (not copies or detached tensors).",
            )
            twice = sorted({name_of[id(p)] for p in params if sum(q is p for q in params) > 1})
            expect(
                not twice,
                f"for {label}: {_listed(twice)} appears twice in the {group} group: a parameter shared by two "
                "modules (tied weights) is listed by each module that holds it; keep every parameter once.",
            )
        placed = {id(p): True for p in decayed} | {id(p): False for p in kept}
        frozen = [name for name, p in named.items() if not p.requires_grad and id(p) in placed]
        expect(
            not frozen,
            f"for {label}: {_listed(frozen)} {'has' if len(frozen) == 1 else 'have'} requires_grad=False (a "
            "frozen part of the model) but in the optimizer: leave frozen parameters out.",
        )
        missing = [name for name, p in named.items() if p.requires_grad and id(p) not in placed]
        expect(
            not missing,
            f"for {label}: the trainable parameter(s) {_listed(missing)} are in no group. Every trainable "
            "parameter belongs in one: model.modules() visits the model itself and all its submodules.",
        )
        wrong = []
        for p in named.values():
            if not p.requires_grad:
                continue
            held_by = holders[id(p)]
            should = all(isinstance(m, _DECAYED_LAYERS) and attr == "weight" for _, m, attr in held_by)
            if placed[id(p)] != should:
                wrong.append((len(held_by) > 1, _wrongly_placed(held_by, placed[id(p)])))
        if wrong:  # a parameter of one module first: its message names the simpler mistake
            raise ExerciseFailed(f"for {label}: {sorted(wrong, key=lambda item: item[0])[0][1]}")


# ---- ex-5.3: momentum by hand -------------------------------------------------------------------


@exercise("ex-5.3")
def check_ex_5_3(momentum_step):
    gen = torch.Generator().manual_seed(0)
    lr, mu = 0.1, 0.9
    for nesterov in (False, True):
        p = torch.randn(3, 2, generator=gen).requires_grad_(True)
        optimizer = torch.optim.SGD([p], lr=lr, momentum=mu, nesterov=nesterov)
        for step in range(1, 5):
            grad = torch.randn(3, 2, generator=gen) * step
            before = p.detach().clone()
            buf = optimizer.state[p].get("momentum_buffer") if p in optimizer.state else None
            buf = None if buf is None else buf.clone()
            p.grad = grad.clone()
            optimizer.step()
            result = call(
                momentum_step,
                before.clone(),
                grad.clone(),
                None if buf is None else buf.clone(),
                lr,
                mu,
                nesterov=nesterov,
            )
            expect(
                isinstance(result, tuple) and len(result) == 2,
                f"momentum_step should return a tuple (new_param, new_buf), got {type(result).__name__}.",
            )
            new_param, new_buf = result
            where = f"at step {step} (nesterov={nesterov}, buf {'None' if buf is None else 'given'})"
            _close(
                new_buf,
                optimizer.state[p]["momentum_buffer"],
                f"new_buf {where}",
                "The buffer is momentum * buf + grad (and just the gradient when buf is None).",
            )
            _close(
                new_param,
                p.detach(),
                f"new_param {where}",
                "Nesterov steps along grad + momentum * new_buf."
                if nesterov
                else "Classical momentum steps along the new buffer, scaled by lr.",
            )


# ---- ex-5.4: AdamW when some gradients are missing -----------------------------------------------

# One entry per step and parameter: a gradient scale, 0.0 for a real zero gradient, None for no gradient.
# Parameter 0 gets a gradient at every step (a zero one at step 3); parameter 1 misses step 1, so its own
# step count lags the loop's; parameter 2 never gets one; parameter 3 only at step 1.
_ADAMW_SCHEDULE = (
    (0.1, None, None, 1.0),
    (1.0, 1.0, None, None),
    (0.0, 10.0, None, None),
    (100.0, 0.01, None, None),
)
_ADAMW_SHAPES = ((5,), (3, 4), (2,), (7,))
_ADAMW_ORDER = (3, 1, 0, 2)  # the parameters whose mistakes are easiest to name come first


def _adamw_case(seed):
    gen = generator(seed)
    params = [torch.randn(*shape, generator=gen) for shape in _ADAMW_SHAPES]
    params[1] = non_contiguous(params[1])
    grads = [
        [
            None if scale is None else torch.randn(*shape, generator=gen) * scale
            for scale, shape in zip(step, _ADAMW_SHAPES)
        ]
        for step in _ADAMW_SCHEDULE
    ]
    return params, grads


def _adamw_by_torch(params, grads, lr, betas, eps, weight_decay):
    ps = [p.clone().requires_grad_(True) for p in params]
    optimizer = torch.optim.AdamW(ps, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    for step in grads:
        for p, g in zip(ps, step):
            p.grad = None if g is None else g.clone()
        optimizer.step()
    return [p.detach() for p in ps]


def _adamw_mistake(params, grads, lr, betas, eps, weight_decay, mistake):
    """What a frequent wrong version of AdamW-with-missing-gradients gives."""
    beta1, beta2 = betas
    params = [p.clone() for p in params]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    count = [0] * len(params)
    for t, step in enumerate(grads, start=1):
        for i, g in enumerate(step):
            if g is None and mistake == "none_as_zero":
                g = torch.zeros_like(params[i])
            if g is not None and mistake == "zero_as_none" and not g.any():
                g = None
            if g is None:
                if mistake == "decay_skipped":
                    params[i] = params[i] * (1 - lr * weight_decay)
                continue
            count[i] += 1
            tt = t if mistake == "global_t" else count[i]
            if mistake == "coupled":
                g = g + weight_decay * params[i]
            elif mistake != "decay_after":
                params[i] = params[i] * (1 - lr * weight_decay)
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g**2
            if mistake == "no_bias_correction":
                m_hat, v_hat = m[i], v[i]
            else:
                m_hat, v_hat = m[i] / (1 - beta1**tt), v[i] / (1 - beta2**tt)
            denom = (v_hat + eps).sqrt() if mistake == "eps_inside" else v_hat.sqrt() + eps
            params[i] = params[i] - lr * m_hat / denom
            if mistake == "decay_after":
                params[i] = params[i] * (1 - lr * weight_decay)
    return params


def _without_optim(fn, *args, **kwargs):
    """Call the learner's function while building any torch.optim optimizer fails with a message."""
    original = torch.optim.Optimizer.__init__

    def refuse(self, *a, **k):
        raise ExerciseFailed(
            "your function builds a torch.optim optimizer: the exercise asks you to write AdamW's rule out "
            "yourself, without torch.optim."
        )

    torch.optim.Optimizer.__init__ = refuse  # type: ignore[method-assign]
    try:
        return call(fn, *args, **kwargs)
    finally:
        torch.optim.Optimizer.__init__ = original  # type: ignore[method-assign]


_ADAMW_MISTAKES = {
    "global_t": "the parameters that missed their first gradients are off: which step count does the bias "
    "correction use for them? Look at what Adam's state keeps for each parameter.",
    "none_as_zero": "a parameter moved at a step where its gradient was None, as if the gradient were zero: "
    "step() skips a parameter whose .grad is None (its averages and its step count stay as they are).",
    "decay_skipped": "a parameter was decayed at a step where its gradient was None: step() skips such a "
    "parameter entirely, weight decay included.",
    "zero_as_none": "a zero gradient was treated like a missing one: a gradient of zeros is a real gradient, "
    "so the averages, the step count and the decay all go on.",
    "coupled": "the weight decay went into the gradient (Adam's L2 form): AdamW keeps it out of m and v "
    "and applies it to the parameter directly.",
    "decay_after": "the decay was applied after the Adam step: the decay multiplies the parameter from before "
    "the step, (1 - lr * weight_decay) * theta.",
    "no_bias_correction": "the bias correction is missing: m and v start at zero and are divided by "
    "1 - beta ** t.",
    "eps_inside": "eps belongs outside the square root: sqrt(v_hat) + eps.",
}


@exercise("ex-5.4")
def check_ex_5_4(adamw_run):
    settings: tuple[tuple[str, float, dict[str, Any]], ...] = (
        ("lr=0.1, betas=(0.8, 0.99), weight_decay=0.1", 0.1, dict(betas=(0.8, 0.99), weight_decay=0.1)),
        ("lr=0.05 and the default betas, eps and weight_decay", 0.05, {}),
        ("weight_decay=0 (plain Adam)", 0.2, dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)),
    )
    first, second = (
        _without_optim(adamw_run, *_adamw_case(0), 0.1, betas=(0.8, 0.99), weight_decay=0.1) for _ in range(2)
    )
    if all(isinstance(r, list) and all(isinstance(t, torch.Tensor) for t in r) for r in (first, second)):
        expect(
            len(first) == len(second)
            and all(a.shape == b.shape and torch.equal(a, b) for a, b in zip(first, second)),
            "a second call with the same inputs gave another result: every call starts from fresh m, v and "
            "step counts (zeros), kept inside the call.",
        )
    for seed, (label, lr, kwargs) in enumerate(settings):
        params, grads = _adamw_case(seed)
        params_before = [p.clone() for p in params]
        grads_before = [[None if g is None else g.clone() for g in step] for step in grads]
        full = dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01) | kwargs
        expected = _adamw_by_torch(params_before, grads_before, lr, **full)
        result = _without_optim(adamw_run, params, grads, lr, **kwargs)
        expect(
            isinstance(result, list) and len(result) == len(params),
            f"with {label}: adamw_run should return a list of {len(params)} tensors (one per parameter), got "
            f"{type(result).__name__}{f' of length {len(result)}' if isinstance(result, (list, tuple)) else ''}.",
        )
        expect(
            all(torch.equal(p, b) for p, b in zip(params, params_before))
            and all(
                (g is None and b is None) or (g is not None and b is not None and torch.equal(g, b))
                for step, step_before in zip(grads, grads_before)
                for g, b in zip(step, step_before)
            ),
            "the tensors in params or grads were changed in place: compute new tensors and leave the inputs "
            "as they were.",
        )
        mistakes = {
            name: _adamw_mistake(
                params_before, grads_before, lr, full["betas"], full["eps"], full["weight_decay"], name
            )
            for name in _ADAMW_MISTAKES
        }
        for i in _ADAMW_ORDER:
            got_grads = [step[i] is not None for step in grads]
            close(
                result[i],
                expected[i],
                f"with {label}, parameter {i} (shape {tuple(expected[i].shape)}, a gradient at steps "
                f"{[t for t, has in enumerate(got_grads, start=1) if has] or 'none'})",
                mistakes=[(mistakes[name][i], message) for name, message in _ADAMW_MISTAKES.items()],
                hint="Each parameter goes through AdamW's rule at the steps where it has a gradient.",
                atol=1e-5,
            )


# ---- ex-5.5: tame the banana --------------------------------------------------------------------


@exercise("ex-5.5")
def check_ex_5_5(tuned_optimizer):
    from ...demos.optim_viz import run_trajectory

    probe = call(tuned_optimizer, [torch.zeros(2, dtype=torch.float64, requires_grad=True)])
    expect(
        isinstance(probe, torch.optim.Optimizer) and type(probe).__module__.startswith("torch.optim"),
        f"tuned_optimizer must return a built-in torch.optim optimizer, got {type(probe).__name__}.",
    )
    path = run_trajectory(lambda params, lr: tuned_optimizer(params), lr=1.0, steps=300, surface="rosenbrock")
    expect(
        len(path) == 301,
        f"the run diverged after {len(path) - 1} steps: the step size is too large "
        "for this optimizer on Rosenbrock.",
    )
    end = path[-1]
    distance = float((end - torch.tensor([1.0, 1.0], dtype=end.dtype)).norm())
    expect(
        math.isfinite(distance) and distance < 0.05,
        f"after 300 steps the point is at ({end[0]:.3f}, {end[1]:.3f}), {distance:.3g} away from the minimum (1, 1); "
        "it must be within 0.05. Look at the trajectory: a path that stops short needs larger or better "
        "directed steps (momentum helps in a curved valley); one that jumps around needs smaller ones.",
    )


# ---- ex-5.6: warm-up then cosine ----------------------------------------------------------------


@exercise("ex-5.6")
def check_ex_5_6(warmup_cosine):
    base_lr = 0.5
    for warmup, total in ((5, 20), (3, 12)):
        w = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=base_lr)
        scheduler = call(warmup_cosine, optimizer, warmup, total)
        expect(
            isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler),
            f"warmup_cosine should return a torch.optim.lr_scheduler scheduler, got {type(scheduler).__name__}.",
        )
        expect(
            scheduler.optimizer is optimizer, "the scheduler must be attached to the optimizer it was given."
        )
        for s in range(total + 1):
            if s < warmup:
                factor, phase = s / warmup, "during the warm-up the factor grows linearly from 0 to 1"
            else:
                factor = 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup)))
                phase = "after the warm-up the factor follows half a cosine from 1 down to 0"
            actual = optimizer.param_groups[0]["lr"]
            expect(
                math.isclose(actual, base_lr * factor, rel_tol=1e-6, abs_tol=1e-9),
                f"with warmup_steps={warmup}, total_steps={total} and initial lr {base_lr}, the lr after {s} "
                f"scheduler steps is {actual:.4g}, expected {base_lr * factor:.4g} ({phase}).",
            )
            optimizer.step()
            scheduler.step()


# ---- ex-5.7: clipping by the total norm ---------------------------------------------------------


@exercise("ex-5.7", forbid=("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_norm_"))
def check_ex_5_7(clip_by_total_norm):
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 4, generator=gen), torch.randn(5, generator=gen)
    a, b = 10 * a / a.norm(), 5 * b / b.norm()  # norms 10 and 5: total about 11.2
    cases = (
        ("gradients with total norm 11.2, max_norm=1", [a, b], 1.0),
        ("gradients with total norm 11.2, max_norm=8", [a, b], 8.0),
        ("small gradients (total norm 0.112), max_norm=1", [a / 100, b / 100], 1.0),
        ("a single 2x2x2 gradient, max_norm=0.5", [torch.randn(2, 2, 2, generator=gen)], 0.5),
    )
    for label, grads, max_norm in cases:
        inputs = [g.clone() for g in grads]
        result = call(clip_by_total_norm, inputs, max_norm)
        expect(
            isinstance(result, (list, tuple)) and len(result) == len(grads),
            f"for {label}: expected a list of {len(grads)} tensors, got "
            f"{type(result).__name__}{'' if not hasattr(result, '__len__') else f' of length {len(result)}'}.",
        )
        expect(
            all(torch.equal(i, g) for i, g in zip(inputs, grads)),
            "the input tensors were modified in place: return new tensors.",
        )
        params = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        for i, (r, p) in enumerate(zip(result, params)):
            _close(
                r,
                p.grad,
                f"for {label}, tensor {i}",
                "Use one scale factor for all tensors, computed from their total norm, and only when that "
                "norm exceeds max_norm.",
                atol=1e-5,
            )


# ---- ex-5.8: a training step in the right order -------------------------------------------------


def _training_setup():
    def make():
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
        batches = [(torch.randn(6, 3), 20 * torch.randn(6, 1)) for _ in range(6)]
        return model, batches

    model, batches = _seeded(0, make)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler, batches


def _replay(variant):
    """Final parameters and losses of the right loop ("ok") or of a typical wrong one."""
    model, optimizer, scheduler, batches = _training_setup()
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the "scheduler first" variant warns on purpose
        for x, y in batches:
            if variant != "no_zero_grad":
                optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            if variant == "scheduler_first":
                scheduler.step()
            if variant not in ("no_clip", "clip_after_step"):
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if variant == "clip_after_step":
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            if variant != "scheduler_first":
                scheduler.step()
            losses.append(loss.item())
    return [p.detach().clone() for p in model.parameters()], losses


_DIAGNOSES = {
    "no_zero_grad": "they match a loop that never clears the gradients (backward() adds into .grad).",
    "no_clip": "they match a loop whose gradients are not clipped before the update.",
    "clip_after_step": "they match a loop whose gradients are not clipped before the update.",
    "scheduler_first": "they match a loop that advances the scheduler before the optimizer's update, "
    "so the first update does not use the initial learning rate.",
}


@exercise("ex-5.8")
def check_ex_5_8(train_steps):
    model, optimizer, scheduler, batches = _training_setup()
    losses = call(train_steps, model, nn.functional.mse_loss, optimizer, scheduler, batches, 1.0)
    expect(
        isinstance(losses, (list, tuple))
        and len(losses) == len(batches)
        and all(isinstance(v, float) for v in losses),
        f"train_steps should return a list of {len(batches)} Python floats (use loss.item()), got "
        f"{type(losses).__name__}{f' of length {len(losses)}' if hasattr(losses, '__len__') else ''}"
        + (
            f" holding {type(losses[0]).__name__}s"
            if isinstance(losses, (list, tuple)) and losses and not isinstance(losses[0], float)
            else ""
        )
        + ".",
    )
    params = [p.detach() for p in model.parameters()]
    expected_params, expected_losses = _replay("ok")
    if not all(torch.allclose(p, e, atol=1e-5) for p, e in zip(params, expected_params)):
        for variant, diagnosis in _DIAGNOSES.items():
            wrong_params, _ = _replay(variant)
            if all(torch.allclose(p, e, atol=1e-5) for p, e in zip(params, wrong_params)):
                raise ExerciseFailed(f"the trained parameters are not the expected ones: {diagnosis}")
        raise ExerciseFailed(
            "the trained parameters are not the expected ones. Check the order in each step: clear "
            "the gradients, compute the loss, backward, clip, optimizer step, scheduler step."
        )
    expect(
        all(math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6) for a, b in zip(losses, expected_losses)),
        "the parameters are right but the returned losses are not: return loss.item() of the loss computed in "
        "each step, before that step's update.",
    )
    expect(
        optimizer.param_groups[0]["lr"] == 0.05 * 0.5 ** (len(batches) // 2),
        "the scheduler should have been stepped once per batch.",
    )
