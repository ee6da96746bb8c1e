"""Work shared with one forked child, on a machine of two cores or more: the child does its part and sends the result
back through a pipe as bytes, the parent does the rest meanwhile. A child that fails sends nothing, and the parent
does that part itself; a parent interrupted or failing ends its child and collects it, so no process outlives the
work. Forking is used only where it is safe (see may_fork)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


def may_fork() -> bool:
    """Safe and useful: Linux, two cores, one thread (forking a threaded process such as the Jupyter server can
    deadlock the child), and not already a worker of a batch conversion."""
    return (
        sys.platform.startswith("linux")
        and len(os.sched_getaffinity(0)) > 1
        and threading.active_count() == 1
        and not multiprocessing.current_process().daemon
    )


class Child(Generic[T]):
    """A forked child computing `work()`, sent as `dump(value)`."""

    def __init__(self, work: Callable[[], T], dump: Callable[[T], bytes]) -> None:
        self.read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            run_child(work, dump, self.read_end, write_end)
        os.close(write_end)

    def result(self, load: Callable[[bytes], T]) -> T | None:
        """What the child sent, or None when it sent nothing or what it sent cannot be loaded."""
        with os.fdopen(self.read_end, "rb") as pipe:
            received = pipe.read()
        self.read_end = -1
        try:
            return load(received) if received else None
        except Exception:  # a child killed while it wrote
            return None

    def reap(self) -> None:
        """The child is done, or is ended (the parent is interrupted, or failed)."""
        if self.read_end >= 0:
            os.close(self.read_end)
        try:
            finished, _ = os.waitpid(self.pid, os.WNOHANG)
            if finished == 0:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


@contextmanager
def forked(work: Callable[[], T], dump: Callable[[T], bytes]) -> Iterator[Child[T]]:
    """`work()` running in a forked child while the block runs; the child is collected when the block ends."""
    child = Child(work, dump)
    try:
        yield child
    finally:
        child.reap()


def run_child(work: Callable[[], T], dump: Callable[[T], bytes], read_end: int, write_end: int) -> None:
    """In the forked child: do the work, send it to the parent, and leave at once (never running the parent's cleanup
    code, whatever happens)."""
    status = 1
    try:
        os.close(read_end)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(dump(work()))
        status = 0
    finally:
        os._exit(status)
