"""convert.refuse_leaks, the last line of defence: a project file holding a secret of the source, or its last 8
characters, is refused, whether the package reads that secret from the environment or it sat in text that is not
converted (a markdown cell, a shell line, a cell that does not parse)."""

from __future__ import annotations

import pytest

from conftest import document_of
from nbextract import graph, magics
from nbextract.convert import refuse_leaks
from nbextract.errors import ConversionError

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
CODE = f'GITHUB_TOKEN = "{TOKEN}"\nx = 1\n'
BROKEN = f'headers = {{"auth": "{TOKEN}"\nx = 1\n'


def statements_of(*cells: str):
    document = document_of(*cells)
    return graph.build(document, magics.normalise(document))


LEAKS = {
    "read-from-env-whole": (CODE, TOKEN),
    "read-from-env-tail": (CODE, TOKEN[-8:]),
    "broken-cell-whole": (BROKEN, TOKEN),
    "broken-cell-tail": (BROKEN, TOKEN[-8:]),
}


@pytest.mark.parametrize("cell, piece", LEAKS.values(), ids=LEAKS.keys())
def test_a_file_holding_a_secret_is_refused(cell, piece):
    statements = statements_of(cell, "y = 2\n")
    with pytest.raises(ConversionError, match="would reach README.md"):
        refuse_leaks({"README.md": f"text {piece} text"}, statements)


@pytest.mark.parametrize("cell", [CODE, BROKEN], ids=["read-from-env", "broken-cell"])
def test_files_without_the_secret_pass(cell):
    refuse_leaks({"README.md": "nothing here", "artifacts/m.bin": b"\x00bytes"}, statements_of(cell, "y = 2\n"))
