"""What save_checkpoint / load_checkpoint / fit(resume_from=...) promise, checked one promise at a time."""

from __future__ import annotations

import copy
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import helpers.checkpoint as ckpt
from helpers import MLP, CheckpointError, fit, load_checkpoint, save_checkpoint


def blobs(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 4, generator=g) + y.float().unsqueeze(1)
    return TensorDataset(x, y)


def training(seed, scheduler_kind="step"):
    """A fresh model with dropout, Adam, a scheduler and a seeded shuffling loader, as a new process would."""
    torch.manual_seed(seed)
    model = MLP(4, hidden=(16,), out_features=3, dropout=0.3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    if scheduler_kind == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    elif scheduler_kind == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
    else:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    train_loader = DataLoader(
        blobs(), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    val_loader = DataLoader(blobs(seed=1), batch_size=32)
    return model, optimizer, scheduler, train_loader, val_loader


def run(seed, epochs, scheduler_kind, **kwargs):
    model, optimizer, scheduler, train_loader, val_loader = training(seed, scheduler_kind)
    history = fit(
        model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, epochs,
        scheduler=scheduler, progress=False, verbose=False, **kwargs,
    )  # fmt: skip
    return model, optimizer, history


@pytest.mark.parametrize("scheduler_kind", ["step", "cosine", "plateau"])
def test_two_plus_two_epochs_equal_four_bit_for_bit(tmp_path, scheduler_kind):
    straight, straight_opt, straight_history = run(0, 4, scheduler_kind)
    run(0, 2, scheduler_kind, last_checkpoint_path=tmp_path / "last.pt")
    torch.manual_seed(12345)  # the new process's global generator is somewhere else
    resumed, resumed_opt, resumed_history = run(1, 4, scheduler_kind, resume_from=tmp_path / "last.pt")
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert resumed_history == straight_history  # the earlier epochs come back in the history too
    assert resumed_opt.param_groups[0]["lr"] == straight_opt.param_groups[0]["lr"]


def test_without_the_scheduler_state_a_resume_diverges(tmp_path):
    """The reason the scheduler is saved: restoring only model + optimizer gives another learning rate."""
    _, straight_opt, _ = run(0, 4, "cosine")
    run(0, 2, "cosine", last_checkpoint_path=tmp_path / "last.pt")
    model, optimizer, scheduler, train_loader, _ = training(1, "cosine")
    load_checkpoint(tmp_path / "last.pt", model, optimizer)  # scheduler left out
    with warnings.catch_warnings():  # stepping a scheduler without training: torch warns, on purpose here
        warnings.simplefilter("ignore", UserWarning)
        scheduler.step(), scheduler.step()
    assert optimizer.param_groups[0]["lr"] != straight_opt.param_groups[0]["lr"]


def test_scheduler_and_grad_scaler_round_trip(tmp_path):
    model, optimizer, scheduler, train_loader, _ = training(0)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(3):
            scheduler.step()
    save_checkpoint(tmp_path / "c.pt", model, optimizer, 3, scheduler=scheduler, scaler=scaler)
    model2, optimizer2, scheduler2, _, _ = training(1)
    scaler2 = torch.amp.GradScaler("cpu")
    load_checkpoint(tmp_path / "c.pt", model2, optimizer2, scheduler=scheduler2, scaler=scaler2)
    assert scheduler2.state_dict() == scheduler.state_dict()
    assert scaler2.get_scale() == 1024.0
    assert optimizer2.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def snapshot(*objects):
    return [copy.deepcopy(o.state_dict()) for o in objects]


def same(a, b):
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("optimizer missing", "holds no optimizer state"),
        ("optimizer of another kind", "holds the state of a Adam optimizer, but a SGD was given"),
        ("optimizer with other groups", "1 parameter group(s), but the optimizer given has 2"),
        ("optimizer over fewer parameters", "parameter group 0 holds 4 parameters in the file but 2"),
        ("scheduler missing", "holds no scheduler state"),
        ("scheduler of another kind", "StepLR scheduler, but a CosineAnnealingLR was given"),
        ("loader without generator", "disagree about the shuffle generator"),
    ],
)
def test_nothing_changes_when_any_part_does_not_fit(tmp_path, case, fragment):
    """Everything is checked before anything is loaded: a late mismatch leaves the early parts untouched."""
    model, optimizer, scheduler, train_loader, _ = training(0)
    with_opt = save_checkpoint(
        tmp_path / "full.pt", model, optimizer, 2, scheduler=scheduler, train_loader=train_loader
    )
    no_opt = save_checkpoint(tmp_path / "bare.pt", model, epoch=2)
    target, target_opt, target_sched, target_loader, _ = training(1)
    parts = dict(model=target, optimizer=target_opt)
    path = with_opt
    if case == "optimizer missing":
        path = no_opt
    elif case == "optimizer of another kind":
        parts["optimizer"] = torch.optim.SGD(target.parameters(), lr=0.1)
    elif case == "optimizer with other groups":
        params = list(target.parameters())
        parts["optimizer"] = torch.optim.Adam([{"params": params[:2]}, {"params": params[2:]}])
    elif case == "optimizer over fewer parameters":
        parts["optimizer"] = torch.optim.Adam(list(target.parameters())[:2])
    elif case == "scheduler missing":
        path = save_checkpoint(tmp_path / "nosched.pt", model, optimizer, 2)
        parts["scheduler"] = target_sched
    elif case == "scheduler of another kind":
        parts["scheduler"] = torch.optim.lr_scheduler.CosineAnnealingLR(target_opt, T_max=3)
    elif case == "loader without generator":
        parts["train_loader"] = DataLoader(blobs(), batch_size=16, shuffle=True)
    watched = [parts["model"], parts["optimizer"]] + ([parts["scheduler"]] if "scheduler" in parts else [])
    before = snapshot(*watched)
    rng_before = torch.get_rng_state()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, **parts, restore_rng=True)
    assert fragment in str(info.value)
    assert all(same(a, b) for a, b in zip(before, snapshot(*watched)))
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_malformed_entries_are_checkpoint_errors(tmp_path):
    model = MLP(4, hidden=(16,), out_features=3)
    for content, fragment in [
        ({"model": 5}, "must be a state_dict"),
        ({"model": {"net.1.weight": "not a tensor"}}, "must be a state_dict"),
        ({"model": model.state_dict(), "epoch": "two"}, "'epoch' must be an int"),
        (model.state_dict(), "holds a bare state_dict"),
        ([1, 2, 3], "expected a dict with a 'model' key"),
    ]:
        torch.save(content, tmp_path / "odd.pt")
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(tmp_path / "odd.pt", model)
        assert fragment in str(info.value)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)


def test_files_refused_by_weights_only_say_why_and_what_to_do(tmp_path):
    torch.save(TinyNet(), tmp_path / "whole.pt")
    with pytest.raises(CheckpointError, match="whole pickled model") as info:
        load_checkpoint(tmp_path / "whole.pt", TinyNet())
    assert "TinyNet" in str(info.value) and "state_dict" in str(info.value)
    torch.save({"model": TinyNet().state_dict(), "metrics": {"acc": np.float64(0.5)}}, tmp_path / "np.pt")
    with pytest.raises(CheckpointError, match="safe_globals") as info:
        load_checkpoint(tmp_path / "np.pt", TinyNet())
    assert "numpy" in str(info.value) and "trust" in str(info.value)
    (tmp_path / "cut.pt").write_bytes((tmp_path / "whole.pt").read_bytes()[:200])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(tmp_path / "cut.pt", TinyNet())


def test_numpy_metrics_are_saved_as_floats(tmp_path):
    model = TinyNet()
    save_checkpoint(tmp_path / "c.pt", model, metrics={"acc": np.float64(0.25), "loss": torch.tensor(1.5)})
    assert torch.load(tmp_path / "c.pt", weights_only=True)["metrics"] == {"acc": 0.25, "loss": 1.5}


def test_file_mode_is_what_torch_save_gives(tmp_path):
    model = TinyNet()
    torch.save(model.state_dict(), tmp_path / "plain.pt")
    save_checkpoint(tmp_path / "atomic.pt", model)
    mode = stat.S_IMODE(os.stat(tmp_path / "atomic.pt").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.pt").st_mode)
    old = os.umask(0o077)
    try:
        save_checkpoint(tmp_path / "private.pt", model)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "private.pt").st_mode) == 0o600


def test_folder_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(ckpt.os, "fsync", recording_fsync)
    save_checkpoint(tmp_path / "c.pt", TinyNet())
    assert synced == [False, True]  # the file, then its folder


def test_stale_temp_files_are_removed_by_the_next_save(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".c.pt.{dead.pid}.abc123.tmp"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".c.pt.{os.getppid()}.def456.tmp"  # a save in progress in a living process
    live.write_bytes(b"y")
    other = tmp_path / f".other.pt.{dead.pid}.abc123.tmp"  # another checkpoint's business
    other.write_bytes(b"z")
    save_checkpoint(tmp_path / "c.pt", TinyNet())
    assert not stale.exists() and live.exists() and other.exists()


KILLED_SAVER = textwrap.dedent(
    """
    import sys, torch
    from torch import nn
    from helpers.checkpoint import save_checkpoint
    model = nn.Linear(2048, 4096)       # 32 MB of weights
    epoch = 0
    while True:
        epoch += 1
        with torch.no_grad():
            model.bias.fill_(epoch)
        save_checkpoint(sys.argv[1], model, epoch=epoch)
        print(epoch, flush=True)
    """
)


@pytest.mark.slow  # subprocesses killed mid-save: seconds
@pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")
def test_kill_9_during_a_large_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "big.pt"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for attempt in range(3):
        saver = subprocess.Popen(
            [sys.executable, "-c", KILLED_SAVER, str(path)], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            first = int(saver.stdout.readline())  # one save finished ...
            time.sleep(0.05 + 0.1 * attempt)  # ... and the next one is under way
        finally:
            saver.send_signal(signal.SIGKILL)
            saver.wait()
        checkpoint = load_checkpoint(path, nn.Linear(2048, 4096))
        assert checkpoint["epoch"] >= first  # a complete checkpoint, never half of one
        assert float(checkpoint["model"]["bias"][0]) == checkpoint["epoch"]
    save_checkpoint(path, nn.Linear(2, 2))  # the next save cleans up what the killed ones left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.pt"]
