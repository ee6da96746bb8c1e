"""Process-wide settings a conversion holds (nbextract.process_wide): made when the first block enters, undone when the
last leaves, whatever thread holds them, and the garbage collector left as the caller had it."""

from __future__ import annotations

import gc
import threading

import pytest

from nbextract.process_wide import PAUSED_COLLECTOR, ProcessWide


def test_started_once_and_stopped_when_the_last_block_leaves() -> None:
    events: list[str] = []
    setting = ProcessWide(lambda: events.append("start"), lambda: events.append("stop"))
    with setting.held():
        with setting.held():
            assert events == ["start"]
        assert events == ["start"]
    assert events == ["start", "stop"]


def test_stopped_after_an_error() -> None:
    events: list[str] = []
    setting = ProcessWide(lambda: events.append("start"), lambda: events.append("stop"))
    with pytest.raises(KeyError), setting.held():
        raise KeyError("x")
    assert events == ["start", "stop"]


def test_held_across_threads_until_the_last_leaves() -> None:
    events: list[str] = []
    setting = ProcessWide(lambda: events.append("start"), lambda: events.append("stop"))
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with setting.held():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(5)
    with setting.held():
        pass
    assert events == ["start"]  # the other thread still holds it
    release.set()
    thread.join(5)
    assert events == ["start", "stop"]


@pytest.mark.parametrize("enabled_before", [True, False])
def test_collector_paused_and_left_as_it_was(enabled_before: bool) -> None:
    gc.enable() if enabled_before else gc.disable()
    try:
        with PAUSED_COLLECTOR.held():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()


def test_conversion_pauses_the_collector(tmp_path, monkeypatch) -> None:
    from nbextract import convert, graph
    from nbextract.options import Options

    seen: list[bool] = []
    build = graph.build
    monkeypatch.setattr(graph, "build", lambda *args: seen.append(gc.isenabled()) or build(*args))
    source = tmp_path / "train.py"
    source.write_text(
        "from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression\n"
        "X, y = load_iris(return_X_y=True)\nclf = LogisticRegression(max_iter=300).fit(X, y)\ny_pred = clf.predict(X)\n"
    )
    convert.convert(Options(source=source, output=tmp_path / "out"))
    assert seen == [False] and gc.isenabled()
