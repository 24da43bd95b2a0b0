"""Checks for Chapter 9 (Making training fast: measure first)."""

from __future__ import annotations

import math
import numbers
import time
from typing import Any

import torch
from torch import nn

from ..exercises import ExerciseFailed, call, exercise, expect

# ---- ex-9.1: a fair timing ------------------------------------------------------------------------------


class _SlowFirstCall:
    """A function whose first call takes `cold` seconds and every later call `warm` (or the listed times)."""

    def __init__(self, cold: float, warm: list[float]) -> None:
        self.times = [cold, *warm]
        self.calls = 0

    def __call__(self) -> None:
        delay = self.times[min(self.calls, len(self.times) - 1)]
        self.calls += 1
        time.sleep(delay)


@exercise("ex-9.1")
def check_ex_9_1(median_time: Any) -> None:
    # Timed calls of 20, 100, 40, 200, 40 ms: median 40 ms, mean 80 ms; the cold first call takes 400 ms.
    # The gaps are wide so that a busy machine (sleeps overshoot by a few ms) cannot blur them.
    fn = _SlowFirstCall(0.4, [0.02, 0.1, 0.04, 0.2, 0.04])
    result = call(median_time, fn, repeats=5, warmup=1)
    if isinstance(result, torch.Tensor) and result.numel() == 1:
        result = result.item()
    expect(
        isinstance(result, numbers.Real) and not isinstance(result, bool),
        f"return the median in seconds as a Python float, got {type(result).__name__}.",
    )
    result = float(result)
    expect(
        fn.calls == 6,
        f"fn was called {fn.calls} times; with warmup=1 and repeats=5 it should be called 6 times.",
    )
    expect(result < 2, f"you returned {result:g}: return seconds, not milliseconds.")
    expect(
        not math.isclose(result, 0.08, abs_tol=0.015),
        f"you returned {result * 1e3:.0f} ms, the mean of the timings; the median (the middle value) is "
        "robust to one slow run. Use statistics.median.",
    )
    expect(
        result < 0.07,
        f"you returned {result * 1e3:.0f} ms: the slow first call (400 ms) is in your timing. Call fn() "
        "`warmup` times before you start timing.",
    )
    expect(
        math.isclose(result, 0.04, abs_tol=0.025),
        f"you returned {result * 1e3:.1f} ms; the timed calls took 20, 100, 40, 200 and 40 ms, so the median "
        "is about 40 ms.",
    )
    fn2 = _SlowFirstCall(0.0, [0.0])
    call(median_time, fn2, repeats=3, warmup=2)
    expect(fn2.calls == 5, f"with warmup=2 and repeats=3 fn should be called 5 times, not {fn2.calls}.")


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
