"""Start-up objects are frozen out of the cyclic collector's reach, and handed back on request."""

from __future__ import annotations

import gc
import weakref

from accord.process_heap import freeze_startup_objects, unfreeze


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector can free it


def test_freezing_keeps_startup_objects_from_full_collections_and_unfreezing_returns_them() -> None:
    kept = _Node()
    before_startup_garbage = _Node()
    garbage_ref = weakref.ref(before_startup_garbage)
    del before_startup_garbage
    try:
        freeze_startup_objects()
        assert garbage_ref() is None  # start-up's own garbage was collected first, not frozen
        assert gc.get_freeze_count() > 0
        startup_ref = weakref.ref(kept)
        del kept
        gc.collect()
        assert startup_ref() is not None  # frozen: a full collection does not even look at it
        later = _Node()
        later_ref = weakref.ref(later)
        del later
        gc.collect()
        assert later_ref() is None  # what the work creates afterwards is collected as before
    finally:
        unfreeze()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert startup_ref() is None  # handed back: the collector frees it again
