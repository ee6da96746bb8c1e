"""graph.scopes.CountingScopeProvider gives what libcst's ScopeProvider gives: the same scope for every node but
whitespace, punctuation and operators (traversal.TRIVIA, which it does not walk), and in every scope the same assignments (name, node, order) and accesses (node, order, what they refer to)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ScopeProvider

from nbextract import magics, read
from nbextract.graph.scopes import scopes_of
from nbextract.traversal import TRIVIA, read_only_visits

FOLDER = Path(__file__).parents[1] / "sample_notebooks"
SAMPLES = sorted(path for pattern in ("*.ipynb", "*.py") for path in FOLDER.glob(pattern))
EVERY_ASSIGNMENT = """\
import os, numpy as np
from pathlib import Path as P
x: int = 1
y = z = x
y += 1
class C:
    attr = y
    def method(self, a, /, b=1, *args, c, **kw):
        global g
        g = a
        def inner():
            nonlocal b
            b = 2
        return [n for n in args if (m := n)]
with open(P("f")) as handle, os.scandir(".") as entries:
    data = handle.read()
try:
    np.load(data)
except ValueError as error:
    print(error)
"""


def source_of(sample: Path) -> str:
    return "".join(cell.code + "\n" for cell in magics.normalise(read.read(sample)))


def node_of(assignment) -> int | str:
    """The id of the node that binds, or the name of a builtin."""
    return id(assignment.node) if hasattr(assignment, "node") else f"builtins.{assignment.name}"


def scope_facts(found) -> list:
    numbered: dict = {}
    for node in sorted(found, key=id):
        if found[node] is not None:
            numbered.setdefault(found[node], len(numbered))
    scopes = set(numbered)
    per_node = sorted((id(node), numbered.get(scope)) for node, scope in found.items())
    assignments = sorted(
        (numbered[scope], a.name, node_of(a), a._index)
        for scope in scopes
        for a in scope.assignments
    )
    accesses = sorted(
        (numbered[scope], id(access.node), access._index, sorted(node_of(ref) for ref in access.referents))
        for scope in scopes
        for access in scope.accesses
    )
    return [per_node, assignments, accesses]


@pytest.mark.parametrize(
    "source",
    [EVERY_ASSIGNMENT, *[source_of(sample) for sample in SAMPLES]],
    ids=["every kind of assignment", *[sample.name for sample in SAMPLES]],
)
def test_the_same_scopes_as_libcst(source: str) -> None:
    module = cst.parse_module(source)
    found = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    expected = scope_facts({node: scope for node, scope in found.items() if type(node) not in TRIVIA})
    with read_only_visits():  # as the statement graph runs it
        assert scope_facts(scopes_of(module)) == expected
