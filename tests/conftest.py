"""Shared, generic helpers: write a notebook from cells, and build the statement graph of cell sources."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from nbextract import graph, magics
from nbextract.document import Cell, Document


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
