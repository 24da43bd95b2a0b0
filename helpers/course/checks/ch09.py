"""Checks for Chapter 9 (Making training fast: measure first)."""

from __future__ import annotations

import math
import numbers
import statistics
import time
from typing import Any

import torch
from torch import nn

from ..exercises import ExerciseFailed, call, exercise, expect
from ._common import as_float

# ---- ex-9.1: timing asynchronous work -------------------------------------------------------------------


class _PretendGPU:
    """Work that runs in the order it was queued, like a CUDA stream: ``launch()`` (the learner's ``fn``) queues
    the next duration of ``work`` and returns at once; ``sync()`` waits until everything queued is finished."""

    def __init__(self, work: list[float]) -> None:
        self.work = work
        self.busy_until = 0.0  # the perf_counter time at which all queued work is done
        self.launched: list[float] = []  # when each call of fn() queued its work
        self.pending: list[bool] = []  # whether earlier work was still running at that moment
        self.waited: list[float | None] = []  # when the first sync() after it returned (its work done)
        self.syncs = 0

    def launch(self) -> None:
        now = time.perf_counter()
        seconds = self.work[min(len(self.launched), len(self.work) - 1)]
        self.pending.append(self.busy_until > now)
        self.busy_until = max(now, self.busy_until) + seconds
        self.launched.append(now)
        self.waited.append(None)

    def sync(self) -> None:
        self.syncs += 1
        while (left := self.busy_until - time.perf_counter()) > 0:
            time.sleep(left)
        now = time.perf_counter()
        self.waited = [now if done is None else done for done in self.waited]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _async_case(time_async: Any, work: list[float], warmup: int, repeats: int) -> None:
    gpu = _PretendGPU(work)
    result = call(time_async, gpu.launch, gpu.sync, repeats=repeats, warmup=warmup)
    if isinstance(result, numbers.Real) and not isinstance(result, bool):
        raise ExerciseFailed("return a tuple (launch, total) of two times, not a single number.")
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        raise ExerciseFailed(
            "you returned (median, times) like the lesson's median_seconds: return (launch, total), two medians."
        )
    expect(
        isinstance(result, tuple) and len(result) == 2,
        f"return a tuple (launch, total) of two Python floats, got {type(result).__name__}"
        f"{f' of length {len(result)}' if isinstance(result, (tuple, list)) else ''}.",
    )
    launch, total = as_float(result[0], "launch"), as_float(result[1], "total")
    calls = len(gpu.launched)
    expect(
        calls == warmup + repeats,
        f"fn was called {calls} times; with warmup={warmup} and repeats={repeats} it should be called "
        f"{warmup + repeats} times ({warmup} untimed, then {repeats} timed).",
    )
    expect(
        gpu.syncs > 0,
        "sync() was never called: fn() only queues its work and returns at once, so your clock measured the "
        "queueing, not the work. Call sync() before you stop the clock.",
    )
    least = min(work[warmup:])  # the shortest work a timed call queues: a right timing is never shorter
    expect(
        total >= 0 and launch >= 0,
        f"you returned launch={launch:g}, total={total:g}: a time is `later - earlier`, never negative.",
    )
    expect(
        total < 1 and launch < 1, f"you returned ({launch:g}, {total:g}): return seconds, not milliseconds."
    )
    if launch > 0.5 * least and total < 0.5 * least:
        raise ExerciseFailed(
            f"you returned launch={_ms(launch)} and total={_ms(total)}: the two are swapped; return (launch, total)."
        )
    expect(
        total > 0.5 * least,
        f"your total is {_ms(total)} but each timed call queued at least {_ms(least)} of work: you stopped the "
        "clock before that work was finished. Read the clock after sync() returns.",
    )
    timed = range(warmup, calls)
    for i in timed:
        done = gpu.waited[i]
        expect(
            done is not None and (i + 1 == calls or done <= gpu.launched[i + 1]),
            "a timed call's work was not waited for before the next call (or before you returned): each timing "
            "must cover one call's work, so call sync() after each timed fn(), before you stop its clock.",
        )
    expect(
        not any(gpu.pending[i] for i in timed),
        "your first timed call was queued while the warm-up's work was still running, so its timing includes "
        "that work: call sync() before you start the clock, so that no earlier work is still running.",
    )
    # What each call's work took, as this device saw it (sleeps that overshoot on a busy machine included).
    took = [done - start for done, start in zip(gpu.waited, gpu.launched) if done is not None]
    timings = took[warmup:]
    median = statistics.median(timings)
    expect(
        launch < 0.25 * median,
        f"your launch time is {_ms(launch)}, but fn() returns at once: you read the clock after sync(). The "
        "launch time ends when fn() returns, before you wait for its work.",
    )
    candidates = [
        (
            statistics.mean(timings),
            "the mean of the timings; the median (the middle value) is robust to one slow run",
        ),
        (statistics.median(took), "the median with the warm-up's work in it: time only the `repeats` calls"),
        (statistics.mean(took), "the mean with the warm-up's work in it: time only the `repeats` calls"),
        (timings[0], "one timing (the first): return the median of all `repeats` timings"),
        (timings[-1], "one timing (the last): return the median of all `repeats` timings"),
        (min(timings), "the fastest timing: return the median of all `repeats` timings"),
    ]
    tolerance = max(0.004, 0.15 * median)
    wrong = [(value, message) for value, message in candidates if abs(value - median) > 1.5 * tolerance]
    nearest = min(wrong, key=lambda item: abs(item[0] - total), default=None)
    if nearest is not None and abs(nearest[0] - total) < abs(median - total):
        raise ExerciseFailed(f"your total is {_ms(total)}: it looks like {nearest[1]}.")
    expect(
        abs(total - median) <= tolerance,
        f"your total is {_ms(total)}; the timed calls' work took {', '.join(_ms(t) for t in timings)}, whose "
        f"median is {_ms(median)}.",
    )


@exercise("ex-9.1")
def check_ex_9_1(time_async: Any) -> None:
    # A pretend GPU whose first calls are slow. The durations this device saw are the reference, so a busy
    # machine's late sleeps cannot fail a right answer; every mistake lands 12 ms or more away. 0.4 s in all.
    # Two slow warm-up calls (40 ms each) and one timed call (20 ms): timing the warm-ups puts them in the median.
    _async_case(time_async, [0.04, 0.04, 0.02], warmup=2, repeats=1)
    # Timed work of 60, 15, 30, 120 and 18 ms: median 30 ms, mean 49 ms, first 60, last 18, fastest 15 ms.
    _async_case(time_async, [0.04, 0.06, 0.015, 0.03, 0.12, 0.018], warmup=1, repeats=5)


# ---- ex-9.2: batches without a DataLoader ------------------------------------------------------------------


@exercise("ex-9.2")
def check_ex_9_2(tensor_batches: Any) -> None:
    x = torch.arange(23 * 3, dtype=torch.float32).reshape(23, 3)
    y = torch.arange(23) * 10
    batches = call(tensor_batches, x, y, 5, torch.Generator().manual_seed(4))
    expect(
        isinstance(batches, (list, tuple))
        and all(isinstance(b, (list, tuple)) and len(b) == 2 for b in batches),
        "return a list of (inputs, targets) pairs.",
    )
    sizes = [len(b[0]) for b in batches]
    expect(
        sizes == [5, 5, 5, 5, 3],
        f"23 samples in batches of 5 should give sizes [5, 5, 5, 5, 3], got {sizes}.",
    )
    for inputs, targets in batches:
        expect(
            torch.equal(inputs[:, 0] / 3 * 10, targets.float()),
            "inputs and targets got separated: index x and y with the same indices.",
        )
    seen = torch.cat([t for _, t in batches]).tolist()
    expect(sorted(seen) == sorted(y.tolist()), "every sample must appear exactly once per epoch.")
    expect(
        seen != y.tolist(),
        "the batches come in the original order: shuffle with torch.randperm(len(x), ...).",
    )
    order = torch.randperm(23, generator=torch.Generator().manual_seed(4))
    expect(
        seen == y[order].tolist(),
        "the order is not the one torch.randperm(len(x), generator=generator) gives: draw it once from the "
        "generator you were given, then split it into batches.",
    )


# ---- ex-9.3: bf16 autocast --------------------------------------------------------------------------------


@exercise("ex-9.3")
def check_ex_9_3(autocast_logits: Any) -> None:
    g = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(7, 32), nn.ReLU(), nn.Linear(32, 5))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.randn(9, 7, generator=g)
    before = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        full = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x).float()
    result = call(autocast_logits, model, x)
    expect(isinstance(result, torch.Tensor), f"return a tensor, got {type(result).__name__}.")
    expect(
        all(p.dtype == torch.float32 for p in model.parameters()),
        "your function changed the model's parameters to another dtype: autocast leaves the parameters "
        "float32 and casts per operation. Do not call model.to(torch.bfloat16) / .bfloat16().",
    )
    expect(
        all(torch.equal(a, b) for a, b in zip(before, model.parameters())),
        "your function changed the model's parameters.",
    )
    expect(result.dtype == torch.float32, f"return float32 logits (`.float()`), got {result.dtype}.")
    expect(tuple(result.shape) == (9, 5), f"the logits have shape {tuple(result.shape)}, expected (9, 5).")
    expect(not result.requires_grad, "the result requires grad: run the forward pass under torch.no_grad().")
    if torch.equal(result, full):
        raise ExerciseFailed(
            "your logits are exactly the float32 ones: the forward pass did not run under "
            "torch.autocast(device_type=x.device.type, dtype=torch.bfloat16)."
        )
    expect(
        torch.allclose(result, low, atol=1e-6),
        "your logits differ from a bf16 autocast forward pass of the model on x.",
    )


# ---- ex-9.4: the _orig_mod. prefix ------------------------------------------------------------------------


@exercise("ex-9.4")
def check_ex_9_4(strip_compile_prefix: Any) -> None:
    weight, bias, other = torch.randn(2, 3), torch.randn(2), torch.randn(1)
    state = {"_orig_mod.layer._orig_mod.weight": weight, "_orig_mod.out.bias": bias, "mode": other}
    original = dict(state)
    result = call(strip_compile_prefix, state)
    expect(isinstance(result, dict), f"return a dict, got {type(result).__name__}.")
    keys = list(result)
    if "layer.weight" in keys:
        raise ExerciseFailed(
            "you removed '_orig_mod.' everywhere in the key, also in the middle: remove it only at the start "
            "(str.startswith, then slice)."
        )
    expect(
        sorted(keys) == sorted(["layer._orig_mod.weight", "out.bias", "mode"]),
        f"the keys are {keys}, expected ['layer._orig_mod.weight', 'out.bias', 'mode']"
        + (
            " (str.lstrip removes a set of characters, not a prefix)"
            if "ut.bias" in keys or "e" in keys
            else ""
        )
        + ".",
    )
    expect(
        result["layer._orig_mod.weight"] is weight and result["out.bias"] is bias and result["mode"] is other,
        "the values must be the same tensors, unchanged (no copies needed).",
    )
    expect(state == original, "your function changed the dict it was given: build a new one.")


# ---- ex-9.5: linear scaling with warm-up -------------------------------------------------------------------


@exercise("ex-9.5")
def check_ex_9_5(lr_at: Any) -> None:
    cases = [  # (step, base_lr, base_batch, batch, warmup) -> expected
        ((1, 0.1, 64, 256, 10), 0.04),
        ((5, 0.1, 64, 256, 10), 0.2),
        ((10, 0.1, 64, 256, 10), 0.4),
        ((50, 0.1, 64, 256, 10), 0.4),
        ((3, 0.1, 256, 128, 4), 0.0375),
        ((1, 0.3, 128, 128, 0), 0.3),
        ((7, 0.02, 32, 96, 0), 0.06),
    ]
    for args, expected in cases:
        result = call(lr_at, *args)
        if isinstance(result, torch.Tensor) and result.numel() == 1:
            result = result.item()
        expect(
            isinstance(result, numbers.Real) and not isinstance(result, bool),
            f"return a number, got {type(result).__name__}.",
        )
        step, base_lr, base_batch, batch, warmup = args
        what = f"lr_at(step={step}, base_lr={base_lr}, base_batch={base_batch}, batch={batch}, warmup_steps={warmup})"

        def schedule(rate: float, step: int = step, warmup: int = warmup) -> float:
            return rate * step / warmup if warmup and step < warmup else rate

        if batch != base_batch and math.isclose(result, schedule(base_lr), rel_tol=1e-9):
            raise ExerciseFailed(f"{what} = {result}: scale the learning rate by batch / base_batch.")
        if batch != base_batch and math.isclose(result, schedule(base_lr * base_batch / batch), rel_tol=1e-9):
            raise ExerciseFailed(
                f"{what} = {result}: the ratio is upside down; a bigger batch gets a bigger rate."
            )
        expect(
            math.isclose(result, expected, rel_tol=1e-9),
            f"{what} should be {expected:g}, got {result:g}"
            + (
                " (during the warm-up the rate is scaled * step / warmup_steps)"
                if warmup and step < warmup
                else ""
            )
            + ".",
        )


# ---- ex-9.6: a gradient scaler by hand ----------------------------------------------------------------------


def _scaler_setup(seed: int) -> tuple[nn.Linear, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(4, 2)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, optimizer, torch.randn(6, 4, generator=g), torch.randn(6, 2, generator=g)


@exercise("ex-9.6")
def check_ex_9_6(scaled_step: Any) -> None:
    # A normal step: the result must equal a plain, unscaled step.
    model, optimizer, x, y = _scaler_setup(0)
    reference, ref_opt, _, _ = _scaler_setup(0)
    nn.functional.mse_loss(reference(x), y).backward()
    ref_opt.step()
    new_scale = call(scaled_step, nn.functional.mse_loss(model(x), y), optimizer, 1024.0)
    expect(
        isinstance(new_scale, numbers.Real) and not isinstance(new_scale, bool),
        f"return the (new) scale as a number, got {type(new_scale).__name__}.",
    )
    grad = model.weight.grad
    expect(grad is not None, "after your function the parameters have no gradient: call backward().")
    assert grad is not None
    reference_grad = reference.weight.grad
    assert reference_grad is not None
    if torch.allclose(grad, reference_grad * 1024):
        raise ExerciseFailed("the gradients are still multiplied by the scale: divide each p.grad by scale.")
    if all(torch.equal(p, q) for p, q in zip(model.parameters(), _scaler_setup(0)[0].parameters())):
        raise ExerciseFailed(
            "the weights did not change on a step with finite gradients: call optimizer.step()."
        )
    expect(
        all(torch.allclose(p, q, atol=1e-6) for p, q in zip(model.parameters(), reference.parameters())),
        "after a step with finite gradients the weights should equal a plain unscaled step's: scale the loss, "
        "backward, divide the gradients by the scale, then step.",
    )
    expect(new_scale == 1024.0, f"with finite gradients the scale stays 1024, you returned {new_scale}.")

    # An overflowing step: a huge scale makes the float32 gradients infinite.
    model, optimizer, x, y = _scaler_setup(1)
    before = [p.detach().clone() for p in model.parameters()]
    loss = nn.functional.mse_loss(model(x), y) * 1e30
    new_scale = call(scaled_step, loss, optimizer, 1e30)
    expect(
        all(torch.equal(p, q) for p, q in zip(model.parameters(), before)),
        "a step whose gradients are inf or nan must be skipped (no optimizer.step()), but the weights changed.",
    )
    expect(
        new_scale == 5e29,
        f"after an overflow return scale / 2 (5e+29 here), you returned {new_scale!r}.",
    )
