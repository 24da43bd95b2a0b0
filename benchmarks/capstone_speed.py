"""How fast can the capstone CNN train? One table, from a baseline through each tier of Chapter 9.

    python benchmarks/capstone_speed.py            # the full run (FashionMNIST when present, 5 epochs per tier)
    python benchmarks/capstone_speed.py --quick    # a smoke run: offline data, 2 epochs per tier (< 2 min on a CPU)
    python benchmarks/capstone_speed.py --markdown # also print the table as Markdown (for benchmarks/RESULTS.md)

Tiers (each adds to the previous one):
    baseline      DataLoader over a TensorDataset (per-sample fetch + collate), batch 64, float32, eager
    resident      the dataset moved to the device once, batches by indexing (no DataLoader)
    batch 256     4x larger batches, learning rate x2
    amp           torch.autocast: bf16 (CPU, or GPUs with bf16), fp16 + GradScaler (older GPUs)
    channels_last images and model in channels-last memory format
    compile       torch.compile(model)

Data: FashionMNIST when its files are in the book's data folder (helpers.data.data_dir(); nothing is
downloaded), else scikit-learn's digits (8x8), else FashionMNIST-shaped random data for throughput only
(accuracy is then meaningless and reported as "n/a"). The table says which. Times are medians of the epochs;
"to target" is the training time until the test accuracy first reached --target (the sum of epoch times).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import helpers


@dataclass
class Data:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    real: bool  # False: random data, accuracy means nothing


def load_data(quick: bool) -> Data:
    """FashionMNIST from the data folder, else the digits, else random FashionMNIST-shaped tensors."""
    if not quick:
        try:
            from torchvision import datasets

            root = str(helpers.data_dir())
            train = datasets.FashionMNIST(root, train=True, download=False)
            test = datasets.FashionMNIST(root, train=False, download=False)
            return Data(
                "FashionMNIST",
                train.data.unsqueeze(1).float() / 255,
                train.targets,
                test.data.unsqueeze(1).float() / 255,
                test.targets,
                True,
            )
        except Exception:  # not downloaded: fall through to the offline data
            pass
    try:
        digits = helpers.load_digits_data(seed=0)
        x = torch.stack([x for x, _ in digits.train])
        y = torch.tensor([int(y) for _, y in digits.train])
        xt = torch.stack([x for x, _ in digits.test])
        yt = torch.tensor([int(y) for _, y in digits.test])
        return Data("digits (offline, 8x8)", x, y, xt, yt, True)
    except ImportError:
        g = torch.Generator().manual_seed(0)
        n = 6000 if quick else 60000
        x, y = torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
        return Data("random FashionMNIST-shaped data (throughput only)", x, y, x[:1000], y[:1000], False)


def amp_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def run_tier(
    name: str,
    data: Data,
    device: torch.device,
    epochs: int,
    *,
    resident: bool,
    batch: int,
    amp: bool,
    channels_last: bool,
    compile_model: bool,
) -> dict:
    """Train the capstone CNN with one tier's settings; return its measurements."""
    torch.manual_seed(0)
    side = data.x_train.shape[-1]
    model = helpers.SmallCNN(image_size=side, num_classes=10).to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    step_model = torch.compile(model) if compile_model else model
    lr = 2e-3 * (2 if batch > 64 else 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    dtype = amp_dtype(device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and dtype == torch.float16)
    loss_fn = nn.CrossEntropyLoss()
    x_dev, y_dev = data.x_train.to(device), data.y_train.to(device)
    x_test = data.x_test.to(device).to(memory_format=memory_format)
    loader = DataLoader(
        TensorDataset(data.x_train, data.y_train),
        batch_size=batch,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        pin_memory=device.type == "cuda",
    )

    def batches(epoch: int):
        if not resident:
            for x, y in loader:
                yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            return
        order = torch.randperm(len(x_dev), generator=torch.Generator().manual_seed(epoch)).to(device)
        for idx in order.split(batch):
            yield x_dev[idx], y_dev[idx]

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    epoch_times, accuracies, first_epoch_time = [], [], math.nan
    for epoch in range(epochs):
        model.train()
        sync()
        start = time.perf_counter()
        for x, y in batches(epoch):
            x = x.to(memory_format=memory_format)
            with torch.autocast(device.type, dtype=dtype, enabled=amp):
                loss = loss_fn(step_model(x), y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        sync()
        seconds = time.perf_counter() - start
        if epoch == 0:
            first_epoch_time = seconds
        epoch_times.append(seconds)
        model.eval()
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=amp):
            correct = sum(
                (step_model(x).argmax(1) == y).sum().item()
                for x, y in zip(x_test.split(1000), data.y_test.to(device).split(1000))
            )
        accuracies.append(correct / len(data.y_test))
    steady = epoch_times[1:] or epoch_times  # the first epoch includes compilation and warm-up
    return {
        "tier": name,
        "images_per_s": len(data.x_train) / statistics.median(steady),
        "epoch_s": statistics.median(steady),
        "first_epoch_s": first_epoch_time,
        "accuracies": accuracies,
        "epoch_times": epoch_times,
    }


TIERS = [  # name, and what it turns on (each tier keeps the previous ones)
    ("baseline", {}),
    ("resident", {"resident": True}),
    ("batch 256", {"batch": 256}),
    ("amp", {"amp": True}),
    ("channels_last", {"channels_last": True}),
    ("compile", {"compile_model": True}),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, 2 epochs per tier (a smoke test)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per tier (default 5, quick 2)")
    parser.add_argument("--target", type=float, default=None, help="test accuracy to reach (default 0.9)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile tier")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    epochs = args.epochs or (2 if args.quick else 5)
    if epochs < 1:
        parser.error(f"--epochs must be >= 1, got {epochs}")
    device = helpers.get_device()
    data = load_data(args.quick)
    target = args.target if args.target is not None else 0.9
    print(
        f"device: {helpers.describe_device(device)} | torch {torch.__version__} | data: {data.name} "
        f"({len(data.x_train):,} train, {len(data.x_test):,} test) | {epochs} epochs per tier"
    )
    settings = {"resident": False, "batch": 64, "amp": False, "channels_last": False, "compile_model": False}
    rows = []
    for name, change in TIERS:
        settings.update(change)
        if settings["compile_model"] and args.no_compile:
            continue
        row = run_tier(name, data, device, epochs, **settings)
        cumulative, reached = 0.0, math.nan
        for seconds, acc in zip(row["epoch_times"], row["accuracies"]):
            cumulative += seconds
            if acc >= target:
                reached = cumulative
                break
        row["to_target_s"] = reached
        rows.append(row)
        print(f"  {name:<14} done: {row['images_per_s']:,.0f} images/s")
    header = ["tier", "images/s", "epoch (s)", "1st epoch (s)", f"to {target:.0%} (s)", "test acc"]
    table = [
        [
            r["tier"],
            f"{r['images_per_s']:,.0f}",
            f"{r['epoch_s']:.2f}",
            f"{r['first_epoch_s']:.2f}",
            "not reached" if math.isnan(r["to_target_s"]) else f"{r['to_target_s']:.1f}",
            f"{r['accuracies'][-1]:.1%}" if data.real else "n/a",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    if args.markdown:
        print()
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in table:
            print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
