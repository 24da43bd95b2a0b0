"""Benchmark: does helpers.fit cost anything over the plain training loop the lessons teach?

    python benchmarks/fit_overhead.py [--repeats 5] [--epochs 3] [--device cpu]

Trains the same model on the same data, from the same seed, with (a) the plain loop written out as in
Chapter 8 and (b) helpers.fit (progress bar off, no printing), alternating the order, and prints the
median time of each and their ratio. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from torch import nn

import helpers
from helpers.data import load_digits_data, make_loaders


def plain_loop(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        total, correct, val_loss = 0, 0, 0.0
        with torch.no_grad():
            for x, y in val_loader:
                x, y = x.to(device), y.to(device)
                logits = model(x)
                val_loss += loss_fn(logits, y).item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                total += len(y)


def with_fit(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    helpers.fit(model, train_loader, val_loader, loss_fn, optimizer, epochs, progress=False, verbose=False)


CLOCK = time.perf_counter


def timed(run, data, epochs, device) -> float:
    helpers.seed_everything(0)
    model = helpers.SmallCNN(image_size=data.image_size).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_loader, val_loader, _ = make_loaders(data, batch_size=64)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = CLOCK()
    run(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, epochs, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return CLOCK() - start


def per_batch_checks(data, device, batches: int = 2000) -> tuple[float, float]:
    """Microseconds per batch spent in fit's per-batch checks, and in one plain training step, same batch.

    The checks are what helpers.fit adds to every batch (input dtype, target dtype/shape against the loss,
    label range on the CPU copy of the labels, a finite loss); timing them alone shows their cost without
    the noise of whole training runs on a shared machine.
    """
    from helpers.training import _check_inputs, _check_label_range, _check_targets, _task

    helpers.seed_everything(0)
    model = helpers.SmallCNN(image_size=data.image_size).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    train_loader, _, _ = make_loaders(data, batch_size=64)
    x_cpu, y_cpu = next(iter(train_loader))
    x, y = x_cpu.to(device), y_cpu.to(device)
    outputs = model(x)
    loss = loss_fn(outputs, y)
    task = _task(loss_fn, y)
    start = time.perf_counter()
    for _ in range(batches):
        _check_inputs(x_cpu, torch.float32)
        _check_targets(task, loss_fn, outputs, y)
        if device.type != "cpu":  # on the CPU torch's own refusal is caught instead (no cost per batch)
            _check_label_range(y_cpu, outputs.shape[1])
        if device.type == "cpu":
            math.isfinite(loss.item())
    checks = (time.perf_counter() - start) / batches * 1e6
    steps = 50
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    step = (time.perf_counter() - start) / steps * 1e6
    return checks, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: elapsed time; cpu: this process's CPU time (steadier on a shared machine, with --threads 1)",
    )
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = helpers.get_device(args.device)
    data = load_digits_data()
    timed(plain_loop, data, 1, device)  # warm-up
    times = {"plain loop": [], "helpers.fit": []}
    for r in range(args.repeats):
        order = [("plain loop", plain_loop), ("helpers.fit", with_fit)]
        for name, run in order if r % 2 == 0 else order[::-1]:
            times[name].append(timed(run, data, args.epochs, device))
    plain, fit = statistics.median(times["plain loop"]), statistics.median(times["helpers.fit"])
    print(
        f"device: {helpers.describe_device(device)}; {args.epochs} epochs x {args.repeats} repeats, "
        f"SmallCNN on digits, {args.clock} clock"
    )
    for name, values in times.items():
        print(
            f"  {name:12s} median {statistics.median(values):.3f} s  (all: {', '.join(f'{v:.3f}' for v in values)})"
        )
    print(f"ratio helpers.fit / plain loop = {fit / plain:.3f}")
    checks, step = per_batch_checks(data, device)
    print(
        f"per-batch checks: {checks:.1f} us per batch vs {step:.0f} us per training step ({checks / step:.2%})"
    )


if __name__ == "__main__":
    main()
