"""../shared/corpus: real notebooks and scripts other people wrote, each converted automatically and guided, trained, and
asked to predict in a fresh process from another folder (benchmarks/corpus.py does the work). An item fails when it
does worse than benchmarks/corpus_baseline.json records; the table of outcomes is printed and written to
benchmarks/corpus.md."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import corpus  # noqa: E402

OUTCOMES: list[corpus.Outcome] = []


def corpus_items() -> list[corpus.Item]:
    return corpus.items(corpus.CORPUS) if (corpus.CORPUS / "MANIFEST.json").exists() else []


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, worker_id):
    if not corpus_items():
        pytest.skip(f"no corpus at {corpus.CORPUS}")
    folder = corpus.workspace_for(corpus.CORPUS)
    yield folder
    corpus.shutil.rmtree(folder, ignore_errors=True)
    text = corpus.table(outcomes_of_every_worker(tmp_path_factory, worker_id), corpus.CORPUS)
    (Path(corpus.__file__).parent / "corpus.md").write_text(text)
    print(f"\n{text}")


def outcomes_of_every_worker(tmp_path_factory, worker_id: str) -> list[corpus.Outcome]:
    """The items are spread over the xdist workers: each leaves its outcomes in the run's common temporary folder, and
    the table is made of all that are there (the last worker to finish writes the whole table)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "corpus-outcomes"
    shared.mkdir(exist_ok=True)
    (shared / f"{worker_id}.json").write_text(json.dumps([dataclasses.asdict(outcome) for outcome in OUTCOMES]))
    return [corpus.Outcome(**row) for file in sorted(shared.glob("*.json")) for row in json.loads(file.read_text())]


@pytest.mark.corpus
@pytest.mark.parametrize("item", corpus_items(), ids=lambda item: item.name)
def test_item_does_not_regress(item, workspace):
    outcomes = corpus.both_modes(item, workspace, corpus.CORPUS)
    OUTCOMES.extend(outcomes)
    baseline = json.loads(corpus.BASELINE.read_text())
    worse = corpus.regressions(outcomes, baseline)
    assert not worse, "\n".join(worse)


EQUAL = {
    "labels": ([1, 2, 3], np.array([1, 2, 3]), True),
    "label-differs": ([1, 2, 4], np.array([1, 2, 3]), False),
    "floats-within-1e-6": (np.array([1.0, 2.0]), [1.0 + 1e-7, 2.0], True),
    "floats-beyond-1e-6": (np.array([1.0, 2.0]), [1.0 + 1e-5, 2.0], False),
    "series-and-array": (pd.Series(["a", "b"]), np.array(["a", "b"]), True),
    "shape-differs": ([[1, 2]], [1, 2], False),
    "probabilities-for-labels": (np.array([[0.2, 0.8]]), np.array([1]), False),
    "nan-equals-nan": ([float("nan")], [float("nan")], True),
    "string-for-float": (["a"], [1.0], False),
}


@pytest.mark.parametrize("got, want, expected", EQUAL.values(), ids=EQUAL.keys())
def test_equal(got, want, expected):
    assert corpus.equal(got, want) is expected


def outcome(name: str, mode: str, result: str) -> corpus.Outcome:
    return corpus.Outcome(name, mode, result, "", 0.0)


REGRESSIONS = {
    "same": ("equal", "equal", False),
    "better": ("refused", "equal", False),
    "equal-to-refused": ("equal", "refused", True),
    "refused-to-wrong": ("refused", "wrong", True),
    "predicts-to-failed": ("predicts", "failed", True),
    "not-applicable": ("n/a", "n/a", False),
}


@pytest.mark.parametrize("before, now, worse", REGRESSIONS.values(), ids=REGRESSIONS.keys())
def test_regressions(before, now, worse):
    found = corpus.regressions([outcome("a.py", "automatic", now)], {"a.py": {"automatic": before}})
    assert bool(found) is worse


def test_an_item_missing_from_the_baseline_must_not_fail():
    assert corpus.regressions([outcome("new.py", "guided", "failed")], {})
    assert not corpus.regressions([outcome("new.py", "guided", "refused")], {})


def test_the_folders_of_a_sources_absolute_hardcoded_paths_are_made_before_it_runs():
    item = corpus.Item("own/x.py", "X", "y", True, ("/tmp/x/data.csv", "64", "cuda:0", "rel/path.csv", "/tmp/x/models"))
    assert corpus.authors_folders(item) == [Path("/tmp/x"), Path("/tmp/x")]
