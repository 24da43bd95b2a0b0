"""Plausible wrong answers for Chapter 9: each must make its check fail with a message naming the mistake.

``WRONG`` maps each exercise to ``(make_answer, fragment)`` pairs (see tests/course/test_wrong_answers.py).
"""

import statistics
import time

import torch


def _timed(fn, sync, repeats=5, warmup=1, *, mistake=None):
    """ex-9.1 written with one mistake: where sync() is called, what is timed, how the timings are summed up."""
    timed_warmup = mistake in ("warmup_timed_median", "warmup_timed_mean")
    for _ in range(0 if mistake == "no_warmup" or timed_warmup else warmup):
        fn()
    launches, totals = [], []
    timed = repeats + warmup if timed_warmup else repeats
    for _ in range(timed):
        if mistake not in ("no_sync_before_start", "no_sync", "sync_after_loop"):
            sync()
        start = time.perf_counter()
        fn()
        returned = time.perf_counter()
        if mistake not in ("no_sync", "sync_after_loop", "sync_after_stop"):
            sync()
        done = time.perf_counter()
        if mistake == "sync_after_stop":
            sync()
        launches.append((done if mistake == "launch_after_sync" else returned) - start)
        totals.append(done - start)
    if mistake == "sync_after_loop":
        sync()
    if mistake in ("mean", "warmup_timed_mean"):
        return statistics.median(launches), statistics.mean(totals)
    if mistake == "milliseconds":
        return statistics.median(launches) * 1e3, statistics.median(totals) * 1e3
    if mistake == "swapped":
        return statistics.median(totals), statistics.median(launches)
    if mistake == "last":
        return launches[-1], totals[-1]
    if mistake == "lesson":
        return statistics.median(totals), totals
    return statistics.median(launches), statistics.median(totals)


def _one_clock(fn, sync, repeats=5, warmup=1):  # one clock around all timed calls, then divided: a mean
    for _ in range(warmup):
        fn()
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    returned = time.perf_counter()
    sync()
    return (returned - start) / repeats, (time.perf_counter() - start) / repeats


def _in_order(x, y, batch_size, generator):
    return [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)]


def _separate_shuffles(x, y, batch_size, generator):
    ox, oy = torch.randperm(len(x), generator=generator), torch.randperm(len(x), generator=generator)
    return [(x[a], y[b]) for a, b in zip(ox.split(batch_size), oy.split(batch_size))]


def _drops_last(x, y, batch_size, generator):
    order = torch.randperm(len(x), generator=generator)
    return [(x[idx], y[idx]) for idx in order.split(batch_size) if len(idx) == batch_size]


def _own_generator(x, y, batch_size, generator):
    order = torch.randperm(len(x))
    return [(x[idx], y[idx]) for idx in order.split(batch_size)]


def _no_autocast(model, x):
    with torch.no_grad():
        return model(x)


def _bf16_model(model, x):
    with torch.no_grad():
        return model.bfloat16()(x.bfloat16()).float()


def _returns_bf16(model, x):
    with torch.no_grad(), torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
        return model(x)


def _with_grad(model, x):
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
        return model(x).float()


def _fp16(model, x):
    with torch.no_grad(), torch.autocast(device_type=x.device.type, dtype=torch.float16):
        return model(x).float()


def _replace_everywhere(state_dict):
    return {k.replace("_orig_mod.", ""): v for k, v in state_dict.items()}


def _in_place(state_dict):
    for k in list(state_dict):
        if k.startswith("_orig_mod."):
            state_dict[k[len("_orig_mod.") :]] = state_dict.pop(k)
    return state_dict


def _copies(state_dict):
    prefix = "_orig_mod."
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v.clone() for k, v in state_dict.items()}


def _no_scaling(step, base_lr, base_batch, batch, warmup_steps):
    return base_lr * step / warmup_steps if warmup_steps and step < warmup_steps else base_lr


def _upside_down(step, base_lr, base_batch, batch, warmup_steps):
    scaled = base_lr * base_batch / batch
    return scaled * step / warmup_steps if warmup_steps and step < warmup_steps else scaled


def _warmup_from_zero(step, base_lr, base_batch, batch, warmup_steps):
    scaled = base_lr * batch / base_batch
    return scaled * (step - 1) / warmup_steps if warmup_steps and step <= warmup_steps else scaled


def _scale_not_unscaled(loss, optimizer, scale):
    (loss * scale).backward()
    optimizer.step()
    return scale


def _steps_on_overflow(loss, optimizer, scale):
    (loss * scale).backward()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    for p in params:
        p.grad /= scale
    optimizer.step()
    finite = all(torch.isfinite(p.grad).all() for p in params)
    return scale if finite else scale / 2


def _doubles_on_overflow(loss, optimizer, scale):
    (loss * scale).backward()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    for p in params:
        p.grad /= scale
    if not all(torch.isfinite(p.grad).all() for p in params):
        return scale * 2
    optimizer.step()
    return scale


def _never_steps(loss, optimizer, scale):
    (loss * scale).backward()
    for p in (p for g in optimizer.param_groups for p in g["params"]):
        p.grad /= scale
    return scale


_CASES = {
    "ex-9.1": [
        (lambda *a, **k: _timed(*a, **k, mistake="no_sync"), "sync() was never called"),
        (lambda *a, **k: _timed(*a, **k, mistake="sync_after_loop"), "stopped the clock before"),
        (lambda *a, **k: _timed(*a, **k, mistake="no_sync_before_start"), "before you start the clock"),
        (lambda *a, **k: _timed(*a, **k, mistake="sync_after_stop"), "stopped the clock before"),
        (lambda *a, **k: _timed(*a, **k, mistake="launch_after_sync"), "read the clock after sync()"),
        (lambda *a, **k: _timed(*a, **k, mistake="mean"), "the mean of the timings"),
        (lambda *a, **k: _timed(*a, **k, mistake="warmup_timed_median"), "warm-up's work in it"),
        (lambda *a, **k: _timed(*a, **k, mistake="warmup_timed_mean"), "mean"),
        (lambda *a, **k: _timed(*a, **k, mistake="no_warmup"), "untimed"),
        (lambda *a, **k: _timed(*a, **k, mistake="milliseconds"), "not milliseconds"),
        (lambda *a, **k: _timed(*a, **k, mistake="swapped"), "swapped"),
        (lambda *a, **k: _timed(*a, **k, mistake="last"), "one timing (the last)"),
        (lambda *a, **k: _timed(*a, **k, mistake="lesson"), "median_seconds"),
        (_one_clock, "after each timed fn()"),
    ],
    "ex-9.2": [
        (_in_order, "original order"),
        (_separate_shuffles, "separated"),
        (_drops_last, "sizes"),
        (_own_generator, "generator you were given"),
        (
            lambda x, y, b, g: [(x[i], y[i]) for i in torch.randperm(len(x), generator=g).split(b)][::-1],
            "sizes",
        ),
    ],
    "ex-9.3": [
        (_no_autocast, "did not run under"),
        (_bf16_model, "parameters"),
        (_returns_bf16, "float32 logits"),
        (_with_grad, "no_grad"),
        (lambda model, x: _fp16(model, x), "bf16"),
    ],
    "ex-9.4": [
        (_replace_everywhere, "in the middle"),
        (_in_place, "changed the dict"),
        (_copies, "same tensors"),
        (lambda sd: {k.lstrip("_orig_mod."): v for k, v in sd.items()}, "lstrip"),
        (lambda sd: [(k[10:], v) for k, v in sd.items()], "return a dict"),
    ],
    "ex-9.5": [
        (_no_scaling, "batch / base_batch"),
        (_upside_down, "upside down"),
        (_warmup_from_zero, "warm-up"),
        (lambda step, base_lr, base_batch, batch, warmup_steps: base_lr * batch / base_batch, "warm-up"),
        (lambda step, base_lr, base_batch, batch, warmup_steps: str(base_lr * batch / base_batch), "number"),
    ],
    "ex-9.6": [
        (_scale_not_unscaled, "still multiplied"),
        (_steps_on_overflow, "skipped"),
        (_doubles_on_overflow, "scale / 2"),
        (_never_steps, "did not change"),
        (lambda loss, optimizer, scale: (loss.backward(), optimizer.step(), scale)[2], "skipped"),
    ],
}

WRONG = {
    exercise_id: [(lambda answer=answer: answer, fragment) for answer, fragment in cases]
    for exercise_id, cases in _CASES.items()
}
