"""server/collector.py: a full collection walks only what is new, and the sweep still frees old cycles."""

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


def test_the_survivors_of_a_full_collection_are_frozen(collector):
    frozen = gc.get_freeze_count()
    assert frozen > 0, "start-up's objects are frozen"
    kept = [Node() for _ in range(20_000)]  # a crowd's long-lived objects
    gc.collect()
    assert gc.get_freeze_count() >= frozen + len(kept)
    assert len(gc.get_objects(generation=2)) < 1_000, "the next full collection walks only what came since"


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


def test_settle_freezes_what_exists_now(collector):
    """A new connection's objects are frozen as it is admitted: no full collection ever walks them."""
    before = gc.get_freeze_count()
    connection = [Node() for _ in range(1_000)]
    collector.settle()
    assert gc.get_freeze_count() >= before + len(connection)
