"""Shared, generic helpers: write a notebook from cells, and build the statement graph of cell sources."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from nbextract import graph, magics
from nbextract.document import Cell, Document


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config):
    """Each xdist worker, and every process it starts (sources, training, predicting), gets its share of the cores:
    two workers each running torch or BLAS on every core of a small machine wait on each other most of the time."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, threads)


@pytest.fixture
def make_notebook(tmp_path: Path):
    """make_notebook(cells, name="nb.ipynb") -> path of an nbformat-4 notebook.

    Each cell is `source` (a code cell without tags), `(source, tags)` or `(source, tags, cell_type)` where
    cell_type is "code", "markdown" or "raw".
    """

    def make(cells, name: str = "nb.ipynb") -> Path:
        notebook = nbformat.v4.new_notebook()
        for cell in cells:
            source, tags, kind = (cell, (), "code") if isinstance(cell, str) else (*cell, "code")[:3]
            new = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}.get(
                kind, nbformat.v4.new_raw_cell
            )(source)
            if tags:
                new.metadata["tags"] = list(tags)
            notebook.cells.append(new)
        path = tmp_path / name
        nbformat.write(notebook, str(path))
        return path

    return make


def document_of(*cell_sources: str, kind: str = "ipynb", tags: dict[int, tuple[str, ...]] | None = None) -> Document:
    """A Document of code cells (1-based numbers); `tags` maps a cell number to its tags."""
    tags = tags or {}
    cells = [Cell(number, source, tags=tags.get(number, ())) for number, source in enumerate(cell_sources, start=1)]
    return Document(f"test.{'py' if kind == 'script' else 'ipynb'}", kind, "0" * 64, cells)


def build_graph(*cell_sources: str, kind: str = "ipynb", tags: dict[int, tuple[str, ...]] | None = None):
    """normalise + build, the pipeline `analyse` runs after reading."""
    document = document_of(*cell_sources, kind=kind, tags=tags)
    return graph.build(document, magics.normalise(document))


@pytest.fixture(scope="session")
def graph_of():
    """graph_of(*cell_sources, kind="ipynb", tags={cell_number: tags}) -> StatementGraph."""
    return build_graph


def pytest_collection_modifyitems(items):
    """Under `--dist loadgroup`, a file's tests share one worker (they share module fixtures: a conversion, a
    training), except the corpus items, independent and long, which each worker takes in turn."""
    for item in items:
        group = item.nodeid if item.get_closest_marker("corpus") else item.path.name
        item.add_marker(pytest.mark.xdist_group(group))
