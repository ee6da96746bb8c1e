"""How the console script ends its process: the collector left off after one conversion (and only then), output flushed
before `os._exit`, and the exit status kept (120 when a flush fails, as Python's own exit does)."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
from pathlib import Path

import pytest

from nbextract import cli
from nbextract.process_wide import PAUSED_COLLECTOR, PausedCollector, ProcessWide

NBEXTRACT = Path(sys.executable).with_name("nbextract")
IRIS = """\
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
clf = LogisticRegression(max_iter=500).fit(X, y)
y_pred = clf.predict(X[:5])
"""


@pytest.fixture
def collector_on():
    gc.enable()
    yield
    gc.enable()


@pytest.mark.parametrize(("until_exit", "enabled_after"), [(False, True), (True, False)])
def test_collector_off_until_exit_stays_off(collector_on, until_exit: bool, enabled_after: bool) -> None:
    paused = PausedCollector()
    if until_exit:
        paused.off_until_exit()
    setting = ProcessWide(paused.start, paused.stop)
    with setting.held():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled_after


@pytest.mark.parametrize(("last_work", "until_exit"), [(False, False), (True, True)])
def test_only_the_last_work_of_the_process_leaves_the_collector_off(
    collector_on, monkeypatch, tmp_path, last_work: bool, until_exit: bool
) -> None:
    paused = PausedCollector()
    monkeypatch.setattr(cli, "collector", paused)
    source = tmp_path / "iris.py"
    source.write_text(IRIS, encoding="utf-8")
    assert cli.main(["convert", str(source), "-o", str(tmp_path / "out")], last_work=last_work) == 0
    assert paused.until_exit is until_exit
    assert not PAUSED_COLLECTOR.holders


def test_a_batch_turns_the_collector_on_after_each_conversion(collector_on, monkeypatch, tmp_path) -> None:
    paused = PausedCollector()
    monkeypatch.setattr(cli, "collector", paused)
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(IRIS, encoding="utf-8")
    status = cli.main(["convert", str(tmp_path / "a.py"), str(tmp_path / "b.py"), "-o", str(tmp_path / "out")], last_work=True)
    assert status == 0
    assert paused.until_exit is False and gc.isenabled()


class Ended(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def end(status: int) -> None:
    raise Ended(status)


class Unflushable(io.StringIO):
    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize(("stdout", "status", "ended"), [(io.StringIO(), 2, 2), (Unflushable(), 0, 120)])
def test_leave_flushes_then_ends_with_the_status(monkeypatch, stdout, status: int, ended: int) -> None:
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(cli.os, "_exit", end)
    with pytest.raises(Ended) as raised:
        cli.leave(status)
    assert raised.value.status == ended


def test_console_script_output_reaches_a_pipe_and_status_is_kept(tmp_path) -> None:
    source = tmp_path / "iris.py"
    source.write_text(IRIS, encoding="utf-8")
    run = [str(NBEXTRACT), "convert", str(source), "-o", str(tmp_path / "out")]
    converted = subprocess.run(run, capture_output=True, text=True, timeout=120)
    again = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert (converted.returncode, converted.stdout.count("\n"), converted.stdout.startswith(f"{source} -> ")) == (0, 1, True)
    assert again.returncode == 2 and again.stderr.startswith("nbextract: ") and again.stderr.count("\n") == 1
