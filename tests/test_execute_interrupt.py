"""Ctrl-C or SIGTERM while --execute runs the source in its kernel (issue 16): exit 130 with one line, nothing written
(no OUT, no run or staging folder beside it), and the kernel shut down."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nbextract.execute import handled_by, run_cancellable

NBEXTRACT = Path(sys.executable).with_name("nbextract")
SIGNALS = (signal.SIGINT, signal.SIGTERM)

CELLS = [
    "import time\nimport numpy as np\nfrom sklearn.linear_model import LogisticRegression",
    "X = np.arange(40.0).reshape(20, 2)\ny = np.array([0, 1] * 10)\nclf = LogisticRegression().fit(X, y)",
    "open('started', 'w').close()\ntime.sleep(120)",
    "X_new = X[:5] + 0.5\npred = clf.predict(X_new)",
]


def kernels_of(pid: int) -> list[int]:
    """The processes started by `pid` that run an ipykernel."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent) == pid and b"ipykernel" in command:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for its parent has stopped running)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def interruptible() -> None:
    """Ctrl-C as a terminal gives it: pytest-xdist workers ignore SIGINT, and their children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the kernel's process in /proc")
@pytest.mark.parametrize("signum", SIGNALS, ids=["sigint", "sigterm"])
def test_interrupting_the_run_writes_nothing_and_shuts_the_kernel_down(tmp_path, signum):
    source = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in CELLS]), source)
    out = tmp_path / "out" / "pkg"
    process = subprocess.Popen(
        [str(NBEXTRACT), "convert", str(source), "--execute", "--input", "X_new", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "started").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    kernels = kernels_of(process.pid)
    assert kernels, "the source runs in a kernel"
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert (process.returncode, stdout, stderr) == (130, "", "nbextract: interrupted; nothing was written\n")
    assert os.listdir(out.parent) == [], "no package, no run or staging folder"
    time.sleep(0.5)
    assert not [pid for pid in kernels if alive(pid)], "the kernel was shut down"


def test_a_signal_ignored_when_the_run_starts_stays_ignored():
    """Started with SIGINT ignored (`nohup`, a background job), the run is not interruptible by it either."""
    before = {signum: signal.signal(signum, signal.SIG_IGN if signum == signal.SIGINT else signal.SIG_DFL) for signum in SIGNALS}
    try:
        replaced = handled_by(lambda *_: None)
        assert (sorted(replaced), signal.getsignal(signal.SIGINT)) == ([signal.SIGTERM], signal.SIG_IGN)
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def test_the_signal_does_what_it_would_have_done_once_the_run_has_cleaned_up():
    """SIGTERM of a batch worker raises SystemExit there: the run ends its cleanup first, then the signal's own
    handler runs (not a KeyboardInterrupt, which a pool worker would print as a traceback)."""
    cleaned = []

    async def run():
        try:
            await asyncio.sleep(0.01)
            signal.raise_signal(signal.SIGTERM)
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0)
            cleaned.append("kernel shut down")

    def leave(signum, frame):
        raise SystemExit(128 + signum)

    before = signal.signal(signal.SIGTERM, leave)
    try:
        with pytest.raises(SystemExit) as caught:
            run_cancellable(run())
        assert (caught.value.code, cleaned, signal.getsignal(signal.SIGTERM)) == (143, ["kernel shut down"], leave)
    finally:
        signal.signal(signal.SIGTERM, before)
