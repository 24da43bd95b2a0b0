"""Keep nbclient from stalling for a whole cell timeout after a widget cell (a local Sphinx extension).

The symptom: executing a chapter headless (the book build, the Run-all test) sometimes stops after a widget
cell (``optim_viz.playground``, ``activation_explorer``) for exactly the cell timeout, then goes on as if
nothing happened. Reproduced with nbclient 0.11 / jupyter_client 8.10 / pyzmq 27 / ipykernel 7.4: executing
Chapter 5 with a 700 s cell timeout, the playground cell took 700.0 s (normally about 13 s on a busy machine);
during the wait the kernel was idle (py-spy), its reply already sent, and nbclient was still polling.

The cause (jupyter/nbclient#312, open): nbclient waits for a cell's reply with ONE asyncio ``poll`` on the
shell socket, as long as the cell timeout. pyzmq's asyncio poll is woken by the socket's edge-triggered file
descriptor; a burst of messages (a widget opens a dozen comms, each with state and output messages) can
consume that edge, so the wakeup is missed. When the poll finally times out, pyzmq checks the socket once
more, finds the reply, and execution goes on: a stall of exactly the timeout, with no error.

The fix: wait in slices of ``SLICE`` seconds. Each new poll checks the socket's state first, so a missed
wakeup costs at most one slice; the overall timeout is unchanged. Applied to the shell and IOPub channels of
every kernel client nbclient starts (``patch_nbclient``), in the Sphinx process of the book build
(``setup``), and by the tests that execute notebooks with nbclient.
"""

from __future__ import annotations

import functools
import time
from queue import Empty
from typing import Any

SLICE = 1.0  # seconds: the longest a missed wakeup can delay a cell
missed_wakeups = (
    0  # slices that ended with a message waiting: a missed wakeup (or one arriving in its last 1 %)
)


def sliced_get_msg(get_msg):
    """``get_msg(timeout=None)`` of an async channel, polling in slices of SLICE seconds."""

    @functools.wraps(get_msg)
    async def wrapper(timeout: float | None = None, **kwargs: Any) -> dict:
        global missed_wakeups
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = SLICE if left is None else min(SLICE, left)
            start = time.monotonic()
            try:
                msg = await get_msg(timeout=step, **kwargs)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                continue
            if step > 0 and time.monotonic() - start >= step * 0.99:
                missed_wakeups += 1
            return msg

    wrapper.sliced = True  # type: ignore[attr-defined]
    return wrapper


def slice_channels(kc) -> None:
    """Make the shell and IOPub channels of kernel client ``kc`` poll in slices (idempotent)."""
    for name in ("shell_channel", "iopub_channel"):
        channel = getattr(kc, name)
        if not getattr(channel.get_msg, "sliced", False):
            channel.get_msg = sliced_get_msg(channel.get_msg)


def patch_nbclient() -> None:
    """Every nbclient.NotebookClient from now on slices its polls (idempotent)."""
    from nbclient.client import NotebookClient

    original = NotebookClient.async_start_new_kernel_client
    if getattr(original, "sliced", False):
        return

    @functools.wraps(original)
    async def start(self, *args: Any, **kwargs: Any):
        kc = await original(self, *args, **kwargs)
        slice_channels(kc)
        return kc

    start.sliced = True  # type: ignore[attr-defined]
    NotebookClient.async_start_new_kernel_client = start  # type: ignore[method-assign]


def setup(app):
    patch_nbclient()  # myst-nb executes the chapters through jupyter-cache and nbclient, in this process
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
