"""Data-parallel training with ``torch.distributed``, the way ``torchrun`` runs it (Chapter 10).

Inside a script started by ``torchrun --nproc_per_node=N script.py``:
    device = setup()                  join the process group that torchrun describes in the environment
    rank(), world_size(), is_main_process()
    train_loader = sharded_loader(dataset, batch_size=32)   each process gets its own shard of every epoch
    all_reduce_mean(value)            the mean of a number (or tensor) over all processes
    cleanup()                         leave the process group

From a notebook or a test:
    launch(script, nproc=2)           run a script under torchrun and return what it printed
    run_processes(fn, world_size=2)   run ``fn(rank, world_size, *args)`` in local CPU processes (gloo) and
                                      return each rank's result -- a quick way to try collectives

``helpers.fit`` works unchanged inside a torchrun script: it calls ``set_epoch`` on a ``DistributedSampler``,
averages its metrics over the processes, and prints and saves checkpoints on rank 0 only.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

__all__ = [
    "all_reduce_mean",
    "cleanup",
    "is_distributed",
    "is_main_process",
    "launch",
    "rank",
    "run_processes",
    "setup",
    "sharded_loader",
    "world_size",
]


def is_distributed() -> bool:
    """True inside an initialised process group (e.g. a script started by torchrun after ``setup()``)."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's number, 0 .. world_size - 1 (0 outside a process group)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """How many processes train together (1 outside a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0, the process that prints, logs and saves checkpoints (and outside a process group)."""
    return rank() == 0


def setup(backend: str | None = None) -> torch.device:
    """Join the process group described by torchrun's environment variables; return this process's device.

    backend: "nccl" for CUDA GPUs, "gloo" for CPUs; None picks nccl when CUDA is available, else gloo.
    With CUDA, process ``LOCAL_RANK`` uses GPU number ``LOCAL_RANK`` of its machine.
    Raises RuntimeError when the variables torchrun sets (RANK, WORLD_SIZE, MASTER_ADDR, ...) are missing.
    """
    missing = [
        v for v in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f"setup() must run in a process started by torchrun; missing environment variables {missing}. "
            "Start the script with: torchrun --standalone --nproc_per_node=2 your_script.py"
        )
    if backend not in (None, "gloo", "nccl"):
        raise ValueError(f"backend must be None, 'gloo' or 'nccl', got {backend!r}")
    use_cuda = torch.cuda.is_available() and backend != "gloo"
    if use_cuda:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if not is_distributed():
        dist.init_process_group(backend or ("nccl" if use_cuda else "gloo"))
    return device


def cleanup() -> None:
    """Leave the process group (does nothing outside one)."""
    if is_distributed():
        dist.destroy_process_group()


def sharded_loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool = True, seed: int = 0, drop_last: bool = False
) -> DataLoader:
    """A DataLoader that gives this process its shard of ``dataset`` (all of it outside a process group).

    The ``DistributedSampler`` splits the (shuffled, with ``seed``) indices so that every process sees a
    different ``1 / world_size`` of them each epoch; ``batch_size`` is per process. Call
    ``loader.sampler.set_epoch(epoch)`` at the start of every epoch (``helpers.fit`` does) or every epoch
    repeats the first one's order.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    sampler: DistributedSampler = DistributedSampler(
        dataset, num_replicas=world_size(), rank=rank(), shuffle=shuffle, seed=seed, drop_last=drop_last
    )
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last)


def all_reduce_mean(value: float | torch.Tensor) -> float | torch.Tensor:
    """The mean of ``value`` over all processes (``value`` itself outside a process group).

    A Python number comes back as a float; a tensor comes back as a new tensor (the input is not changed).
    Every process must call it, in the same order, or the others wait forever.
    """
    if not is_distributed():
        return value
    if isinstance(value, torch.Tensor):
        total = value.detach().clone().to(torch.float64 if not value.is_floating_point() else value.dtype)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        total = torch.tensor(float(value), dtype=torch.float64)
    else:
        raise TypeError(f"value must be a number or a tensor, got {type(value).__name__}")
    if dist.get_backend() == "nccl":
        total = total.cuda()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    total /= dist.get_world_size()
    return total.item() if not isinstance(value, torch.Tensor) else total.to(value.device)


def launch(
    script: str | Path, nproc: int = 2, args: Sequence[str] = (), timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``torchrun --standalone --nproc_per_node=nproc script *args`` and return the finished process.

    Output (stdout and stderr together) is in ``.stdout``. Raises RuntimeError with the last lines of the
    output when the run fails, and subprocess.TimeoutExpired after ``timeout`` seconds.
    """
    script = Path(script)
    if not script.is_file():
        raise FileNotFoundError(f"script must be an existing Python file, got {str(script)!r}")
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be an int >= 1, got {nproc!r}")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    result = subprocess.run(
        [*command, str(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env=env,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stdout.strip().splitlines()[-15:])
        raise RuntimeError(f"torchrun exited with status {result.returncode}; last lines:\n{tail}")
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, fn: Callable[..., Any], args: tuple, queue: Any) -> None:
    torch.set_num_threads(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # gloo's C++ log lines would land in the notebook server's terminal
    try:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
        # Plain pickle: torch's multiprocessing pickler would share tensors through this process, which exits.
        queue.put((rank, "ok", pickle.dumps(fn(rank, world, *args))))
    except BaseException as err:  # report any failure to the parent instead of hanging it
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        queue.put((rank, "error", f"{type(err).__name__}: {message}"))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_processes(
    fn: Callable[..., Any], world_size: int = 2, args: Sequence[Any] = (), timeout: float = 60
) -> list[Any]:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` CPU processes joined in a gloo process group.

    Returns the list of results, indexed by rank (they must be picklable: numbers, lists, CPU tensors).
    The processes are forked, so ``fn`` may be defined in a notebook; this needs Linux or macOS (on
    Windows, write a script and use ``launch``). Raises RuntimeError naming the rank when ``fn`` fails in
    a process, and TimeoutError when a process does not finish within ``timeout`` seconds (e.g. one rank
    skipped a collective that the others wait in).
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function taking (rank, world_size, ...), got {type(fn).__name__}")
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be an int >= 1, got {world_size!r}")
    if "fork" not in multiprocessing.get_all_start_methods():
        raise RuntimeError("run_processes needs the 'fork' start method (Linux, macOS); use launch() instead")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    port = _free_port()
    processes = [
        context.Process(target=_worker, args=(r, world_size, port, fn, tuple(args), queue), daemon=True)
        for r in range(world_size)
    ]
    for p in processes:
        p.start()
    results: dict[int, Any] = {}
    errors: dict[int, str] = {}
    try:
        for _ in processes:
            try:
                r, status, value = queue.get(timeout=timeout)
            except Exception as err:  # queue.Empty: a process hangs or died without reporting
                if errors:
                    break
                raise TimeoutError(
                    f"only ranks {sorted(results)} of {world_size} finished within {timeout:g} s: does every "
                    "process call the same collectives in the same order?"
                ) from err
            if status == "error":
                errors[r] = value
            else:
                results[r] = pickle.loads(value)
            if errors:
                timeout = min(timeout, 5.0)  # the others may now wait forever in a collective
    finally:
        for p in processes:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()
    if errors:
        # A crash in one rank makes the others fail too ("connection closed by peer"): report the cause.
        own = {r: e for r, e in errors.items() if "gloo" not in e.lower() and "connection" not in e.lower()}
        if own:
            r, message = min(own.items())
            raise RuntimeError(f"rank {r} of {world_size} failed: {message}")
        raise RuntimeError(
            f"ranks {sorted(errors)} of {world_size} lost the connection to the others while waiting in a "
            "collective: another rank finished or crashed first. Does every process call the same collectives "
            "in the same order?"
        )
    return [results[r] for r in range(world_size)]
