"""The startup heap is left out of the collector's scans, and frozen objects still die with their last reference."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from sophia.kit import heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # other tests run in this process


class Node:
    pass


def test_settle_freezes_what_is_alive_and_frees_what_is_dropped(unfrozen: None) -> None:
    kept, dropped = Node(), Node()
    gone = weakref.ref(dropped)
    heap.settle()
    assert gc.get_freeze_count() > 0
    assert not any(obj is kept for gen in range(3) for obj in gc.get_objects(gen))  # scanned by no collection
    del dropped
    assert gone() is None  # reference counting still frees a frozen object
