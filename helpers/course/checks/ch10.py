"""Checks for Chapter 10 (Scaling out: torch.distributed, DistributedDataParallel and torchrun).

The distributed exercises run the learner's function in 2 or 3 real processes joined in a gloo process group
(``helpers.distributed.run_processes``: forked CPU processes, so a function defined in a notebook works).
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from ...distributed import run_processes
from ..exercises import ExerciseFailed, call, exercise, expect
from ._common import list_of_ints

_TIMEOUT = 30.0


def _in_processes(fn: Any, world_size: int, *args: Any) -> list[Any]:
    """run_processes, with its failures turned into feedback for the learner."""
    try:
        return run_processes(fn, world_size=world_size, args=args, timeout=_TIMEOUT)
    except TimeoutError as err:
        raise ExerciseFailed(
            f"with {world_size} processes, not every process finished within {_TIMEOUT:g} s: a process is "
            "waiting in a collective (all_reduce, barrier ...) that another process never calls. Every rank "
            "must call the same collectives in the same order."
        ) from err
    except RuntimeError as err:
        message = str(err)
        if "lost the connection" in message:
            message = (
                "one process finished while another still waited in a collective: every rank must call the "
                "same collectives in the same order (a barrier or all_reduce inside `if rank == 0:` hangs)."
            )
        raise ExerciseFailed(f"with {world_size} processes: {message}") from err


def _sampler_indices(n: int, world_size: int, rank: int, **kwargs: Any) -> list[int]:
    sampler: DistributedSampler = DistributedSampler(
        list(range(n)),  # type: ignore[arg-type]
        num_replicas=world_size,
        rank=rank,
        **kwargs,
    )
    return list(sampler)


# ---- ex-10.1: the shard of one process ---------------------------------------------------------------


@exercise("ex-10.1")
def check_ex_10_1(shard_indices: Any) -> None:
    for n, world_size in ((12, 3), (10, 4), (7, 2), (3, 4), (1, 2)):
        for rank in range(world_size):
            expected = _sampler_indices(n, world_size, rank, shuffle=False)
            got = list_of_ints(call(shard_indices, n, rank, world_size), "shard_indices(n, rank, world_size)")
            case = f"n={n}, rank={rank}, world_size={world_size}"
            if (
                sorted(got)
                == sorted(range(rank * n // world_size, (rank + 1) * n // world_size))
                != sorted(expected)
            ):
                raise ExerciseFailed(
                    f"{case}: you gave rank {rank} one contiguous block {got}. DistributedSampler deals the "
                    f"indices out like cards: rank r takes every world_size-th index starting at r -> {expected}."
                )
            expect(
                len(got) == math.ceil(n / world_size),
                f"{case}: rank {rank} should get ceil(n / world_size) = {math.ceil(n / world_size)} indices, "
                f"got {len(got)} ({got}). When n does not divide evenly, the sampler pads the list by repeating "
                "indices from its start, so that every process runs the same number of steps.",
            )
            expect(got == expected, f"{case}: expected {expected}, got {got}.")


# ---- ex-10.2: a new order every epoch --------------------------------------------------------------


@exercise("ex-10.2")
def check_ex_10_2(epoch_orders: Any) -> None:
    n, world_size, epochs, seed = 20, 2, 3, 7
    per_rank = []
    for rank in range(world_size):
        orders = call(epoch_orders, n, rank, world_size, epochs, seed)
        expect(
            isinstance(orders, (list, tuple)) and len(orders) == epochs,
            f"return one list of indices per epoch ({epochs} lists), got {type(orders).__name__}"
            + (f" of length {len(orders)}" if isinstance(orders, (list, tuple)) else "")
            + ".",
        )
        orders = [o.tolist() if isinstance(o, torch.Tensor) else list(o) for o in orders]
        per_rank.append(orders)
        expect(
            not all(order == orders[0] for order in orders[1:]),
            f"rank {rank} sees the same order in every epoch: call sampler.set_epoch(epoch) at the start of "
            "each epoch, or the shuffle never changes.",
        )
    for epoch in range(epochs):
        shards = [set(per_rank[r][epoch]) for r in range(world_size)]
        expect(
            not (shards[0] & shards[1]),
            f"in epoch {epoch} both ranks see samples {sorted(shards[0] & shards[1])[:5]}: every rank must "
            "shuffle with the same seed (the sampler's seed, not the rank), so that the shards do not overlap.",
        )
        for rank in range(world_size):
            sampler: DistributedSampler = DistributedSampler(
                list(range(n)),  # type: ignore[arg-type]
                num_replicas=world_size,
                rank=rank,
                shuffle=True,
                seed=seed,
            )
            sampler.set_epoch(epoch)
            expect(
                per_rank[rank][epoch] == list(sampler),
                f"rank {rank}, epoch {epoch} (epochs count from 0): expected {list(sampler)}, got "
                f"{per_rank[rank][epoch]}. Use DistributedSampler(..., shuffle=True, seed=seed) and "
                "set_epoch(epoch).",
            )


# ---- ex-10.3: the mean over processes --------------------------------------------------------------


def _mean_worker(rank: int, world: int, fn: Any) -> dict[str, Any]:
    local = torch.tensor([1.0, 2.0, 4.0]) * (rank + 1) + 0.5
    before = local.clone()
    result = fn(local)
    return {
        "result": result if isinstance(result, torch.Tensor) else None,
        "type": type(result).__name__,
        "input_changed": not torch.equal(local, before),
    }


@exercise("ex-10.3")
def check_ex_10_3(all_reduce_mean: Any) -> None:
    expect(callable(all_reduce_mean), f"expected a function, got {type(all_reduce_mean).__name__}.")
    for world in (2, 3):
        expected = torch.stack([torch.tensor([1.0, 2.0, 4.0]) * (r + 1) + 0.5 for r in range(world)]).mean(0)
        results = _in_processes(_mean_worker, world, all_reduce_mean)
        for rank, out in enumerate(results):
            if out["type"] == "NoneType":
                raise ExerciseFailed(
                    "your function returned None — did you forget `return`? Return the mean tensor."
                )
            expect(out["result"] is not None, f"return a tensor, got {out['type']}.")
            got = out["result"]
            expect(
                not out["input_changed"],
                "your function changed the tensor it was given: all_reduce works in place, so reduce a "
                "copy (`tensor.clone()`).",
            )
            expect(got.shape == expected.shape, f"the result has shape {tuple(got.shape)}, expected (3,).")
            if torch.allclose(got, expected * world):
                raise ExerciseFailed(
                    f"with {world} processes you returned the sum over processes: divide by "
                    "dist.get_world_size()."
                )
            if world == 3 and torch.allclose(got, expected * 3 / 2):
                raise ExerciseFailed("you divided by 2 with 3 processes: divide by dist.get_world_size().")
            expect(
                torch.allclose(got, expected),
                f"rank {rank} of {world} returned {got.tolist()}, expected the mean {expected.tolist()}.",
            )


# ---- ex-10.4: DDP's gradient averaging by hand ----------------------------------------------------------


def _grad_worker(rank: int, world: int, fn: Any) -> dict[str, Any]:
    torch.manual_seed(0)  # the same replica everywhere (a forked process: the learner's RNG is untouched)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    g = torch.Generator().manual_seed(100 + rank)  # a different shard of data on every rank
    x, y = torch.randn(5, 3, generator=g), torch.randn(5, 2, generator=g)
    nn.functional.mse_loss(model(x), y).backward()
    local = [p.grad.clone() for p in model.parameters()]  # type: ignore[union-attr]
    gathered = [[torch.zeros_like(t) for _ in range(world)] for t in local]
    for t, bucket in zip(local, gathered):
        dist.all_gather(bucket, t)
    weights_before = [p.detach().clone() for p in model.parameters()]
    fn(model)
    return {
        "expected": [torch.stack(bucket).mean(dim=0) for bucket in gathered],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "weights_changed": any(not torch.equal(w, p) for w, p in zip(weights_before, model.parameters())),
        "world": world,
    }


@exercise("ex-10.4")
def check_ex_10_4(average_gradients: Any) -> None:
    expect(callable(average_gradients), f"expected a function, got {type(average_gradients).__name__}.")
    for world in (2, 3):
        for rank, out in enumerate(_in_processes(_grad_worker, world, average_gradients)):
            expect(
                not out["weights_changed"],
                "your function changed the weights: average the gradients (`p.grad`), not the parameters.",
            )
            for i, (got, expected) in enumerate(zip(out["grads"], out["expected"])):
                expect(got is not None, f"parameter {i} has no gradient after your function.")
                if torch.allclose(got, expected * world, atol=1e-6):
                    raise ExerciseFailed(
                        f"parameter {i} holds the sum of the {world} gradients: divide by the world size."
                    )
                expect(
                    torch.allclose(got, expected, atol=1e-6),
                    f"with {world} processes, rank {rank}'s gradient of parameter {i} is not the mean of the "
                    "processes' gradients"
                    + (" (only the first parameter was averaged?)" if i > 0 else "")
                    + ". All-reduce every parameter's .grad and divide by dist.get_world_size().",
                )


# ---- ex-10.5: save once, from rank 0 ---------------------------------------------------------------------


def _save_worker(rank: int, world: int, fn: Any, folder: str) -> dict[str, Any]:
    torch.manual_seed(0)
    model = DistributedDataParallel(nn.Linear(3, 2))
    calls = []
    real_save = torch.save

    def watched_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(rank)
        if rank == 0:
            time.sleep(0.4)  # a slow disk: the other ranks must wait for rank 0
        real_save(obj, f, *args, **kwargs)

    torch.save = watched_save
    path = Path(folder) / "model.pt"
    try:
        fn(model, path)
    finally:
        torch.save = real_save
    exists_after = path.exists()
    return {"saves": len(calls), "exists_after": exists_after}


@exercise("ex-10.5")
def check_ex_10_5(save_on_main: Any) -> None:
    expect(callable(save_on_main), f"expected a function, got {type(save_on_main).__name__}.")
    # DistributedDataParallel imports torch._dynamo on first use (seconds): do it once here, before forking,
    # instead of in every process.
    import torch._dynamo  # noqa: F401

    with tempfile.TemporaryDirectory() as folder:
        results = _in_processes(_save_worker, 2, save_on_main, folder)
        saves = [r["saves"] for r in results]
        expect(saves[0] == 1, f"rank 0 called torch.save {saves[0]} times, expected once.")
        expect(
            saves[1] == 0,
            "rank 1 saved too: every rank holds the same model, so only rank 0 (dist.get_rank() == 0) saves; "
            "the others would write the same file at the same time.",
        )
        expect(
            results[1]["exists_after"],
            "rank 1 went on before rank 0 had finished writing the file: call dist.barrier() on every rank "
            "after the save, so no process reads a checkpoint that is not there yet.",
        )
        path = Path(folder) / "model.pt"
        state = torch.load(path, weights_only=True)
        expect(isinstance(state, dict), f"save a state_dict (a dict), got {type(state).__name__}.")
        keys = sorted(state)
        expect(
            not any(k.startswith("module.") for k in keys),
            f"the saved keys are {keys}: that is the DDP wrapper's state_dict. Save model.module.state_dict(), "
            "so the file loads into a plain model without DDP.",
        )
        expect(keys == ["bias", "weight"], f"the saved keys are {keys}, expected ['bias', 'weight'].")
        os.remove(path)


# ---- ex-10.6: a metric over uneven shards --------------------------------------------------------------

_COUNTS = {2: [(9, 10), (1, 30)], 3: [(9, 10), (1, 30), (20, 20)]}


def _accuracy_worker(rank: int, world: int, fn: Any) -> Any:
    correct, total = _COUNTS[world][rank]
    result = fn(correct, total)
    return result.detach().cpu() if isinstance(result, torch.Tensor) else result


@exercise("ex-10.6")
def check_ex_10_6(global_accuracy: Any) -> None:
    expect(callable(global_accuracy), f"expected a function, got {type(global_accuracy).__name__}.")
    for world in (2, 3):
        counts = _COUNTS[world]
        expected = sum(c for c, _ in counts) / sum(t for _, t in counts)
        mean_of_rates = sum(c / t for c, t in counts) / world
        for rank, got in enumerate(_in_processes(_accuracy_worker, world, global_accuracy)):
            if got is None:
                raise ExerciseFailed(
                    "your function returned None — did you forget `return`? Return the accuracy as a Python float."
                )
            expect(
                isinstance(got, numbers.Real) and not isinstance(got, bool),
                f"return a Python float (use .item()), got {type(got).__name__}.",
            )
            if math.isclose(got, mean_of_rates, rel_tol=1e-6):
                raise ExerciseFailed(
                    f"you averaged the per-rank accuracies ({mean_of_rates:.3f}); the shards differ in size "
                    f"({[t for _, t in counts]} samples), so sum the correct counts and the totals over the "
                    f"processes and divide once ({expected:.3f})."
                )
            local = counts[rank][0] / counts[rank][1]
            if math.isclose(got, local, rel_tol=1e-6) and not math.isclose(local, expected):
                raise ExerciseFailed(
                    f"rank {rank} returned its own accuracy ({local:.3f}): all-reduce the counts so every "
                    "rank gets the accuracy over all processes."
                )
            expect(
                math.isclose(got, expected, rel_tol=1e-6),
                f"rank {rank} of {world} returned {got!r}, expected {expected:.6f} "
                "(sum of correct / sum of totals over all processes).",
            )
