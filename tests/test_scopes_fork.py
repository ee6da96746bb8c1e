"""The scope analysis shared with a forked child (graph.scopes.segments_of): the graph is the same as when one process
analyses every segment, on every sample cut into many small segments; a child that fails leaves its segments to the
parent; a process that may not fork does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbextract import fork, graph, magics, read
from nbextract.graph import scopes
from nbextract.traversal import nodes_by_id, read_only_visits

FOLDER = Path(__file__).parents[1] / "sample_notebooks"
SAMPLES = sorted(path for pattern in ("*.ipynb", "*.py") for path in FOLDER.glob(pattern))


def facts_of(sample: Path) -> tuple[list, list]:
    document = read.read(sample)
    built = graph.build(document, magics.normalise(document))
    statements = [
        (s.index, sorted(s.defines), sorted(s.reads), sorted(s.calls), s.methods, sorted(s.made_by.items()))
        + (sorted(s.sources.items()),)
        for s in built.statements
    ]
    return statements, sorted((a, b, sorted(data["names"])) for a, b, data in built.graph.edges(data=True))


@pytest.fixture
def small_segments(monkeypatch):
    monkeypatch.setattr(scopes, "SEGMENT", 6)
    monkeypatch.setattr(scopes, "FORK_SEGMENTS", 2)


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
def test_the_graph_is_the_same_with_a_forked_child(sample, small_segments, monkeypatch):
    forks, received = [], []
    real_fork, real_loaded = os.fork, scopes.loaded
    monkeypatch.setattr(fork, "may_fork", lambda: True)
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.setattr(scopes, "loaded", lambda *args: received.append(real_loaded(*args)) or received[-1])
    forked = facts_of(sample)
    monkeypatch.setattr(fork, "may_fork", lambda: False)
    assert forks and received and facts_of(sample) == forked


def test_a_child_that_fails_leaves_its_segments_to_the_parent(small_segments, monkeypatch):
    sample = FOLDER / "churn_column_transformer.ipynb"
    monkeypatch.setattr(fork, "may_fork", lambda: False)
    expected = facts_of(sample)
    monkeypatch.setattr(fork, "may_fork", lambda: True)
    monkeypatch.setattr(fork, "run_child", lambda *args: os._exit(1))
    assert facts_of(sample) == expected


def test_nodes_come_back_as_the_parents_own(small_segments):
    """What the child sends names the parent's nodes by id: the scopes it loads map the parent's very nodes."""
    document = read.read(FOLDER / "wine_kmeans_pca.ipynb")
    with read_only_visits():
        parsed = graph.parse.parsed(document, magics.normalise(document))
        modules = [parsed.module]
        found = [scopes.scopes_of(module) for module in modules]
        loaded = scopes.loaded(scopes.dumped(found, modules), nodes_by_id(modules))
    assert set(map(id, loaded[0])) == set(map(id, found[0]))
    assert parsed.module in loaded[0]
