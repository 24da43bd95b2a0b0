"""helpers.distributed and helpers.fit under DistributedDataParallel (2 real gloo processes on the CPU)."""

import os

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import TensorDataset

import helpers
from helpers import distributed as hd

# ---- outside a process group -------------------------------------------------------------------------


def test_outside_a_process_group_everything_is_single_process():
    assert not hd.is_distributed()
    assert (hd.rank(), hd.world_size(), hd.is_main_process()) == (0, 1, True)
    assert hd.all_reduce_mean(2.5) == 2.5
    t = torch.tensor([1.0, 2.0])
    assert hd.all_reduce_mean(t) is t
    loader = hd.sharded_loader(list(range(10)), batch_size=4, shuffle=False)
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_setup_outside_torchrun_says_how_to_start(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="torchrun --standalone --nproc_per_node=2"):
        hd.setup()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: hd.sharded_loader(list(range(4)), batch_size=0),
            ValueError,
            "batch_size must be an int >= 1",
        ),
        (lambda: hd.sharded_loader(list(range(4)), batch_size=True), ValueError, "batch_size"),
        (
            lambda: hd.run_processes(lambda r, w: r, world_size=0),
            ValueError,
            "world_size must be an int >= 1",
        ),
        (lambda: hd.run_processes("not a function"), TypeError, "fn must be a function"),
        (lambda: hd.launch("no_such_script.py"), FileNotFoundError, "script must be an existing Python file"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_setup_rejects_unknown_backend(monkeypatch):
    for name, value in {
        "RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_RANK": "0",
        "MASTER_ADDR": "x",
        "MASTER_PORT": "1",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="backend must be None, 'gloo' or 'nccl', got 'mpi'"):
        hd.setup("mpi")


# ---- run_processes: collectives in real processes ------------------------------------------------------


def _collectives(rank, world_size):
    t = torch.tensor([float(rank)])
    dist.all_reduce(t)
    return {
        "rank": hd.rank(),
        "world": hd.world_size(),
        "sum": t.item(),
        "mean": hd.all_reduce_mean(rank + 1),
    }


@pytest.mark.slow  # real processes: seconds each
@pytest.mark.parametrize("world_size", [2, 3])
def test_run_processes_returns_each_ranks_result(world_size):
    results = hd.run_processes(_collectives, world_size=world_size)
    expected_sum = sum(range(world_size))
    expected_mean = sum(range(1, world_size + 1)) / world_size
    assert [r["rank"] for r in results] == list(range(world_size))
    assert all(r["world"] == world_size and r["sum"] == expected_sum for r in results)
    assert all(r["mean"] == pytest.approx(expected_mean) for r in results)


def _tensor_mean(rank, world_size):
    t = torch.full((2, 3), float(rank), dtype=torch.float32)
    mean = hd.all_reduce_mean(t)
    return t, mean


@pytest.mark.slow  # real processes: seconds each
def test_all_reduce_mean_of_a_tensor_leaves_the_input_alone():
    (t0, m0), (t1, m1) = hd.run_processes(_tensor_mean, world_size=2)
    assert torch.equal(t0, torch.zeros(2, 3)) and torch.equal(t1, torch.ones(2, 3))
    assert torch.equal(m0, torch.full((2, 3), 0.5)) and m0.dtype == torch.float32


def _fails_on_rank_one(rank, world_size):
    if rank == 1:
        raise ValueError("bad shard")
    dist.barrier()
    return rank


@pytest.mark.slow  # real processes: seconds each
def test_a_failing_rank_is_reported_by_its_own_error():
    with pytest.raises(RuntimeError, match=r"rank 1 of 2 failed: ValueError: bad shard"):
        hd.run_processes(_fails_on_rank_one, world_size=2, timeout=20)


def _rank_zero_only_collective(rank, world_size):
    if rank == 0:
        dist.all_reduce(torch.ones(1))
    return rank


@pytest.mark.slow  # real processes: seconds each
def test_a_collective_called_by_one_rank_is_an_error_not_a_hang():
    with pytest.raises((RuntimeError, TimeoutError), match="same collectives in the same order"):
        hd.run_processes(_rank_zero_only_collective, world_size=2, timeout=10)


# ---- helpers.fit under DistributedDataParallel --------------------------------------------------------


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 5, generator=g)
    return TensorDataset(x, (x[:, 0] > 0).long())


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))


def _fit_under_ddp(rank, world_size, folder):
    train, val = torch.utils.data.random_split(_data(), [64, 32], generator=torch.Generator().manual_seed(0))
    train_loader = hd.sharded_loader(train, batch_size=8)
    val_loader = hd.sharded_loader(val, batch_size=8, shuffle=False)
    epochs_seen = []
    original = train_loader.sampler.set_epoch
    train_loader.sampler.set_epoch = lambda e: (epochs_seen.append(e), original(e))  # type: ignore[method-assign]
    model = DistributedDataParallel(_model())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    history = helpers.fit(
        model,
        train_loader,
        val_loader,
        nn.CrossEntropyLoss(),
        optimizer,
        epochs=3,
        checkpoint_path=os.path.join(folder, "best.pt"),
        progress=False,
    )
    weight = model.module[0].weight.detach().clone()
    return {"history": history, "epochs_seen": epochs_seen, "weight": weight}


@pytest.mark.slow  # real processes: seconds each
def test_fit_under_two_process_ddp(tmp_path, capfd):
    results = hd.run_processes(_fit_under_ddp, world_size=2, args=(str(tmp_path),), timeout=120)
    assert results[0]["history"] == results[1]["history"]  # metrics averaged over the ranks
    assert torch.equal(results[0]["weight"], results[1]["weight"])  # replicas identical
    assert results[0]["epochs_seen"] == [1, 2, 3]  # set_epoch called every epoch
    out = capfd.readouterr().out
    assert out.count("epoch 1/3") == 1  # printed by rank 0 only
    best = helpers.load_checkpoint(tmp_path / "best.pt", _model())  # plain keys: loads without DDP
    assert 1 <= best["epoch"] <= 3
    assert sorted(tmp_path.iterdir()) == [tmp_path / "best.pt"]  # one file, no debris
