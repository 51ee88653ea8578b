"""The stream timeout wheel: never early, at most one `resolution` late, closed items freed."""

from __future__ import annotations

import gc
import math
import random
import weakref

from mechamental.sync.fanout.deadlines import Deadlines


class Item:
    """Something with a deadline (weak-referenceable, hashable by identity)."""

    def __init__(self, name: str) -> None:
        self.name = name


def run_clock(deadlines: Deadlines[Item], until: float, step: float) -> dict[Item, float]:
    """Call `expire` every `step` seconds of a simulated clock; when each item fired."""
    fired: dict[Item, float] = {}
    ticks = 0
    while ticks * step <= until:
        now = ticks * step
        for item in expired(deadlines, now):
            fired[item] = now
        ticks += 1
    return fired


def expired(deadlines: Deadlines[Item], now: float) -> list[Item]:
    """What `expire(now)` hands over."""
    out: list[Item] = []
    deadlines.expire(now, out.append)
    return out


def test_never_early_and_at_most_one_resolution_late() -> None:
    rng = random.Random(7)
    for step in (0.25, 0.25 / 7, 0.1):
        deadlines: Deadlines[Item] = Deadlines(resolution=0.25)
        due = {Item(str(n)): rng.uniform(0, 20) for n in range(2000)}
        due[Item("exact")] = 5.0  # on a bucket edge
        due[Item("zero")] = 0.0
        for item, at in due.items():
            deadlines.add(item, at)
        assert len(deadlines) == len(due)
        fired = run_clock(deadlines, until=21, step=step)
        assert set(fired) == set(due)  # each exactly once (a dict has no duplicates)
        for item, at in due.items():
            assert fired[item] >= at, (item.name, at, fired[item])
            # The wheel is at most `resolution` late; the clock adds at most one step.
            assert fired[item] - at <= deadlines.resolution + step + 1e-9
        assert len(deadlines) == 0


def test_float_rounding_never_makes_an_item_early() -> None:
    deadlines: Deadlines[Item] = Deadlines(resolution=0.1)
    due = {Item(str(n)): math.nextafter(n * 0.1, math.inf) for n in range(1000)}
    for item, at in due.items():  # each just past a bucket edge
        deadlines.add(item, at)
    for n, item in enumerate(due):
        fired = expired(deadlines, n * 0.1)
        assert item not in fired
        assert all(due[other] <= n * 0.1 for other in fired)


def test_a_discarded_item_is_released_and_never_expires() -> None:
    deadlines: Deadlines[Item] = Deadlines(resolution=0.25)
    closed = Item("closed")
    kept = Item("kept")
    deadlines.add(closed, 7200.0)  # a 2 h stream that ends at once
    deadlines.add(kept, 7200.0)
    ref = weakref.ref(closed)
    deadlines.discard(closed)
    deadlines.discard(closed)  # twice is harmless
    del closed
    gc.collect()
    assert ref() is None, "the wheel still holds a discarded item"
    assert len(deadlines) == 1
    fired: list[Item] = []
    deadlines.expire(7200.0, fired.append)
    assert fired == [kept]
    assert len(deadlines) == 0


def test_churn_leaves_nothing_behind() -> None:
    deadlines: Deadlines[Item] = Deadlines(resolution=0.25)
    refs = []
    for n in range(10_000):  # open/close within the same bucket and across many
        item = Item(str(n))
        refs.append(weakref.ref(item))
        deadlines.add(item, 3600.0 + (n % 40) * 0.01)
        deadlines.discard(item)
    del item
    gc.collect()
    assert all(ref() is None for ref in refs)
    assert len(deadlines) == 0
    fired: list[Item] = []
    assert deadlines.expire(4000.0, fired.append) == 0
    assert fired == []


def test_add_again_moves_the_deadline() -> None:
    deadlines: Deadlines[Item] = Deadlines(resolution=0.25)
    item = Item("moved")
    deadlines.add(item, 1.0)
    deadlines.add(item, 3.0)
    assert len(deadlines) == 1
    fired: list[Item] = []
    deadlines.expire(2.0, fired.append)
    assert fired == []
    deadlines.expire(3.0, fired.append)
    assert fired == [item]


def test_an_item_discarded_by_an_earlier_expiry_is_skipped() -> None:
    deadlines: Deadlines[Item] = Deadlines(resolution=0.25)
    first, second = Item("first"), Item("second")
    deadlines.add(first, 1.0)
    deadlines.add(second, 1.0)
    fired: list[Item] = []

    def on_expiry(item: Item) -> None:
        fired.append(item)
        deadlines.discard(second if item is first else first)  # one ending closes the other

    assert deadlines.expire(1.0, on_expiry) == 1
    assert fired == [first]
    assert len(deadlines) == 0
