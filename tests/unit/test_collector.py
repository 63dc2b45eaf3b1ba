"""server/collector.py: what survives a young collection is frozen, and the sweep still frees old cycles."""

from __future__ import annotations

import gc
import time
import weakref

import pytest

from server.collector import Collector


class Node:
    def __init__(self) -> None:
        self.partner: Node | None = None


def cycle() -> Node:
    first, second = Node(), Node()
    first.partner, second.partner = second, first
    return first


@pytest.fixture
def collector():
    collector = Collector(sweep_seconds=0)
    collector.start()
    yield collector
    collector.stop()


def test_the_survivors_of_a_young_collection_are_frozen(collector):
    frozen = gc.get_freeze_count()
    assert frozen > 0, "start-up's objects are frozen"
    kept = [Node() for _ in range(20_000)]  # a crowd's long-lived objects: its pings' timers and packets
    gc.collect(generation=1)
    assert gc.get_freeze_count() >= frozen + len(kept)
    assert len(gc.get_objects(generation=2)) < 1_000, "no collection walks them again"


def test_a_cycle_dropped_before_a_young_collection_is_freed(collector):
    node = cycle()
    alive = weakref.ref(node)
    del node
    gc.collect(generation=1)
    assert alive() is None, "freed before anything is frozen"


def test_a_cycle_dropped_after_it_was_frozen_waits_for_the_sweep(collector):
    node = cycle()
    alive = weakref.ref(node)
    gc.collect()  # the cycle survives, and is frozen
    del node
    gc.collect()
    assert alive() is not None, "a frozen cycle is not collected..."
    assert collector.sweep() >= 2
    assert alive() is None, "...until the sweep"
    assert gc.get_freeze_count() > 0, "after the sweep the survivors are frozen again"


def test_the_sweeper_sweeps_on_its_own():
    collector = Collector(sweep_seconds=0.05)
    collector.start()
    try:
        deadline = time.monotonic() + 10
        while collector.sweeps < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert collector.sweeps >= 2
    finally:
        collector.stop()
    assert gc.get_freeze_count() == 0, "stopped, nothing stays frozen"
