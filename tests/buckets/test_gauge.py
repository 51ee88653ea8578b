"""The loop gauge that lets the worker step aside while requests keep the loop busy."""

from __future__ import annotations

import asyncio
import time

from tests.helpers import eventually

from mechamental.buckets.gauge import LoopGauge


async def _hog(stop: asyncio.Event) -> None:
    """Keep the loop busy the way request handling does: many short CPU-bound steps."""
    while not stop.is_set():
        time.sleep(0.003)  # noqa: ASYNC251 - blocking on purpose: this is the load
        await asyncio.sleep(0)


async def test_busy_while_the_loop_is_loaded_and_quiet_when_it_idles() -> None:
    gauge = LoopGauge()
    gauge.start()
    stop = asyncio.Event()
    try:
        await eventually(lambda: asyncio.sleep(0.01, gauge.busy), lambda busy: not busy)
        hogs = [asyncio.create_task(_hog(stop)) for _ in range(4)]
        await eventually(lambda: asyncio.sleep(0.01, gauge.busy), lambda busy: busy)
        stop.set()
        await asyncio.gather(*hogs)
        await gauge.quiet(max_defer=30)
        assert not gauge.busy
    finally:
        stop.set()
        await gauge.stop()


async def test_own_work_is_not_counted_and_stop_ends_deferral() -> None:
    gauge = LoopGauge()
    gauge.start()
    stop = asyncio.Event()
    try:
        with gauge.own_work():
            hog = asyncio.create_task(_hog(stop))
            for _ in range(20):
                await asyncio.sleep(0.01)
            assert not gauge.busy  # the worker's own steps do not make it wait for itself
        stop.set()
        await hog
        stop.clear()
        hog = asyncio.create_task(_hog(stop))
        await eventually(lambda: asyncio.sleep(0.01, gauge.busy), lambda busy: busy)
        await gauge.stop()
        assert not gauge.busy
        await asyncio.wait_for(gauge.quiet(max_defer=3600), 30)  # returns at once now
    finally:
        stop.set()
        await gauge.stop()
