"""_ext/nbclient_wakeup.py: a missed socket wakeup costs one short slice, not the whole cell timeout."""

import asyncio
import importlib.util
import time
from queue import Empty

import pytest

from tools.course import ROOT


@pytest.fixture
def wakeup(monkeypatch):
    spec = importlib.util.spec_from_file_location("nbclient_wakeup", ROOT / "_ext" / "nbclient_wakeup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "SLICE", 0.05)
    return module


class MissedWakeupChannel:
    """Like pyzmq's asyncio poll after a lost edge: a message that arrives DURING a poll is only seen when
    that poll times out; one already waiting when a poll starts is returned at once."""

    def __init__(self, arrives_after: float | None):
        self.arrives_after, self.arrives_at = arrives_after, None

    async def get_msg(self, timeout=None):
        start = time.monotonic()
        if self.arrives_at is None and self.arrives_after is not None:  # counted from the first poll
            self.arrives_at = start + self.arrives_after
        if self.arrives_at is not None and self.arrives_at <= start:
            return {"msg": "reply"}
        await asyncio.sleep(timeout if timeout is not None else 3600)
        if self.arrives_at is not None and self.arrives_at <= time.monotonic():
            return {"msg": "reply"}
        raise Empty


def test_without_the_fix_a_missed_wakeup_stalls_for_the_whole_timeout():
    channel = MissedWakeupChannel(arrives_after=0.02)
    start = time.monotonic()
    assert asyncio.run(channel.get_msg(timeout=1.0)) == {"msg": "reply"}
    assert time.monotonic() - start >= 1.0


def test_with_the_fix_it_costs_one_slice(wakeup):
    channel = MissedWakeupChannel(arrives_after=0.02)
    get_msg = wakeup.sliced_get_msg(channel.get_msg)
    start = time.monotonic()
    assert asyncio.run(get_msg(timeout=30)) == {"msg": "reply"}
    assert time.monotonic() - start < 0.5
    assert wakeup.missed_wakeups == 1


def test_the_timeout_still_holds(wakeup):
    get_msg = wakeup.sliced_get_msg(MissedWakeupChannel(arrives_after=None).get_msg)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(get_msg(timeout=0.3))
    assert 0.3 <= time.monotonic() - start < 1.0


def test_nbclient_clients_get_sliced_channels(wakeup):
    from nbclient.client import NotebookClient

    wakeup.patch_nbclient()
    wakeup.patch_nbclient()  # idempotent
    assert NotebookClient.async_start_new_kernel_client.sliced

    class Kc:
        shell_channel = MissedWakeupChannel(0.0)
        iopub_channel = MissedWakeupChannel(0.0)

    kc = Kc()
    wakeup.slice_channels(kc)
    wakeup.slice_channels(kc)
    assert kc.shell_channel.get_msg.sliced and kc.iopub_channel.get_msg.sliced
    assert kc.shell_channel.get_msg.__wrapped__.__self__ is Kc.shell_channel, "wrapped once, not twice"
