"""Settings of the whole process that a conversion holds while it runs: on while any block holds them, in any thread,
and back as they were when the last block leaves."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class ProcessWide:
    """A setting made by `start()` when the first block enters and undone by `stop()` when the last one leaves."""

    def __init__(self, start: Callable[[], None], stop: Callable[[], None]) -> None:
        self.start, self.stop = start, stop
        self.holders = 0
        self.lock = threading.Lock()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self.lock:
            if not self.holders:
                self.start()
            self.holders += 1
        try:
            yield
        finally:
            with self.lock:
                self.holders -= 1
                if not self.holders:
                    self.stop()


class PausedCollector:
    """Python's cyclic garbage collector off, and on again after if it was on: a conversion builds a few hundred
    thousand objects that live until it ends (libcst's trees and scopes), and every full collection walks all of them
    again. At 2,500 cells that was 1.5-2 s of a 9-13 s conversion, for about 40 MB more at its peak."""

    def __init__(self) -> None:
        self.was_enabled = True
        self.until_exit = False

    def start(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def stop(self) -> None:
        if self.was_enabled and not self.until_exit:
            gc.enable()

    def off_until_exit(self) -> None:
        """Once paused, stay off: for a process whose last work is one conversion (the console script converting one
        source). Turned on again, the collector's next allocation walks every object still alive, about 650,000 after a
        2,500-cell conversion (0.25 s of 4.3); the process's exit frees them all instead. Not for a batch or a server:
        a conversion leaves cycles (black's and jinja's trees, some 30,000 objects a sample) that only it collects."""
        self.until_exit = True


collector = PausedCollector()
PAUSED_COLLECTOR = ProcessWide(collector.start, collector.stop)
