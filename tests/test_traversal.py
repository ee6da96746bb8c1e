"""Read-only walks (nbextract.traversal): every visitor sees, with `read_only_visits()`, exactly the callbacks libcst's
own walk gives it, in the same order, on the same nodes; transformers are untouched; libcst's walk is back after."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ScopeProvider

from nbextract import magics, read
from nbextract.graph.walk import Walk
from nbextract.traversal import TRIVIA, TRIVIA_NAMES, Plan, blind_to_trivia, plan_of, read_only_visits

FOLDER = Path(__file__).parents[1] / "sample_notebooks"
SAMPLES = sorted(path for pattern in ("*.ipynb", "*.py") for path in FOLDER.glob(pattern))

SOURCES = {
    "assignments": "a = b = 1\nx: int = 2\ny += x\n(p, [q, *r]) = s\ndel a, q[0]\n",
    "f-strings": 'f"{x!r:>{width}} {y=} {z:.2f} {w}"\nf"plain"\nf"{a}{b!s}"\n',
    "imports": "import os.path as p, sys\nfrom . import a\nfrom ..pkg import (b as c, d,)\nfrom m import *\n",
    "definitions": (
        "@dec(1)\n@other\nclass C(Base, metaclass=M):\n    attr: int = 0\n"
        "    def method(self, a, /, b=1, *args, c, d=2, **kw) -> 'C':\n"
        "        global g\n        nonlocal_free = lambda q, *, r=3: q + r\n        return self\n"
        "async def run(x):\n    async with lock as held, other():\n        async for item in aiter(x):\n"
        "            await item\n    yield x\n"
    ),
    "comprehensions": "[x for x in y if x]\n{k: v for k, v in d.items()}\n{s for s in t}\n(g for g in h)\n"
    "[(n := f(i)) for i in range(3)]\n",
    "control flow": (
        "for i, (a, b) in enumerate(pairs):\n    if a:\n        continue\n    elif b:\n        break\n"
        "else:\n    pass\nwhile n > 0:\n    n -= 1\n"
        "try:\n    risky()\nexcept (ValueError, KeyError) as error:\n    raise RuntimeError() from error\n"
        "else:\n    ok()\nfinally:\n    done()\nwith open(p) as f, lock:\n    f.read()\n"
        "assert x, 'message'\n"
    ),
    "match": (
        "match command:\n    case [x, *rest] if x > 0:\n        pass\n    case {'k': v, **others}:\n        pass\n"
        "    case Point(x=0, y=yy) | None:\n        pass\n    case _:\n        pass\n"
    ),
    "expressions": (
        "value = -a ** 2 + b[1:2, ::3] @ c.d(e, *f, g=h, **i) if j and not k or l < m <= n is not o else p\n"
        "text = 'a' 'b' \"\"\"c\"\"\"\nraw = rb'd' b'e'\n"
        "numbers = 1 + 2j - 0x1F * 1_000 / 3.5e-2 // 7 % 2 << 1 >> 1 & 3 | 4 ^ 5\n"
        "t = (1,)\nempty = ()\nmixed = [*a, {**b}, ...]\nsemi = 1; other = 2  # comment\n"
    ),
    "a notebook's mess": (
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n\n\n# a comment\nimport numpy as np  # trailing\n"
        "\n\n\ndef f(\n    a,\n    b,\n):\n    '''doc'''\n\n    # inside\n    return a  # end\n# dedented comment\n"
        "x = f(1,\n      2)\n"
    ),
}


class EveryCallback(cst.CSTVisitor):
    """Records every callback libcst makes, the attribute ones included."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int, str]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.calls.append(("visit", id(node), type(node).__name__))
        return not isinstance(node, cst.Lambda)  # a visitor may stop descending

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.calls.append(("leave", id(original_node), type(original_node).__name__))

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.calls.append(("visit attribute", id(node), attribute))

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.calls.append(("leave attribute", id(original_node), attribute))


class NamedHooks(cst.CSTVisitor):
    """Uses libcst's default dispatch: named visit and leave methods, attribute ones among them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.calls.append(("Name", id(node)))

    def visit_Assign_value(self, node: cst.Assign) -> None:
        self.calls.append(("Assign.value", id(node)))

    def leave_Assign_value(self, node: cst.Assign) -> None:
        self.calls.append(("/Assign.value", id(node)))

    def visit_For_body(self, node: cst.For) -> None:
        self.calls.append(("For.body", id(node)))

    def visit_FormattedStringExpression_format_spec(self, node: cst.FormattedStringExpression) -> None:
        self.calls.append(("format spec", id(node)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.calls.append(("def", id(node)))
        node.params.visit(self)  # a visitor that walks part of a node itself, as libcst's providers do
        return False

    def leave_Call(self, original_node: cst.Call) -> None:
        self.calls.append(("/Call", id(original_node)))


class PunctuationHooks(cst.CSTVisitor):
    """Named methods of trivia classes: a visitor that needs whitespace, comments or commas walks them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.calls.append((node.value, id(node)))

    def leave_Comma_whitespace_after(self, node: cst.Comma) -> None:
        self.calls.append(("/Comma.whitespace_after", id(node)))


class SaysBlind(EveryCallback):
    trivia_blind = True


def callbacks(visitor_type: type, module: cst.Module) -> list:
    visitor = visitor_type()
    module.visit(visitor)
    return visitor.calls


def module_of(sample: Path) -> cst.Module:
    cells = magics.normalise(read.read(sample))
    return cst.parse_module("\n".join(cell.code for cell in cells) + "\n")


@pytest.mark.parametrize("visitor_type", [EveryCallback, NamedHooks, PunctuationHooks])
@pytest.mark.parametrize("name", SOURCES)
def test_same_callbacks_as_libcst(name: str, visitor_type: type) -> None:
    module = cst.parse_module(SOURCES[name])
    expected = callbacks(visitor_type, module)
    with read_only_visits():
        assert callbacks(visitor_type, module) == expected


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
def test_same_callbacks_on_every_sample(sample: Path) -> None:
    module = module_of(sample)
    expected = callbacks(EveryCallback, module)
    with read_only_visits():
        assert callbacks(EveryCallback, module) == expected


CALL_FIELDS = ("lpar", "func", "whitespace_after_func", "whitespace_before_args", "args", "rpar")


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (cst.Name("x"), Plan(True, False, (("lpar", False, False), ("rpar", False, False)), TRIVIA)),
        (
            cst.Call(cst.Name("f")),
            Plan(False, True, tuple((field, False, False) for field in CALL_FIELDS), TRIVIA),
        ),
        (
            cst.Assign([cst.AssignTarget(cst.Name("y"))], cst.Name("x")),
            Plan(False, False, (("targets", False, False), ("value", True, True), ("semicolon", False, False)), TRIVIA),
        ),
    ],
    ids=["a visit method", "a leave method", "attribute methods"],
)
def test_only_callbacks_that_reach_a_method_are_made(node: cst.CSTNode, expected: Plan) -> None:
    """libcst's typed no-op stubs (visit_Name_lpar and the thousands like it) are not called."""
    assert plan_of(NamedHooks, node) == expected


@pytest.mark.parametrize(
    ("visitor_type", "blind"),
    [(EveryCallback, False), (NamedHooks, True), (PunctuationHooks, False), (SaysBlind, True), (Walk, True)],
)
def test_blind_to_trivia(visitor_type: type, blind: bool) -> None:
    """Blind: libcst's callbacks, or the visitor's own that say they need no trivia, and no method of a trivia class."""
    assert blind_to_trivia(visitor_type) is blind


def test_a_blind_visitor_walks_no_trivia() -> None:
    module = cst.parse_module(SOURCES["a notebook's mess"])
    with read_only_visits():
        seen = {kind for _, _, kind in callbacks(SaysBlind, module)}
    assert seen and not seen & TRIVIA_NAMES


def test_the_facts_walk_refuses_a_visitor_of_trivia() -> None:
    with pytest.raises(TypeError, match="PunctuationHooks.leave_Comma_whitespace_after"):
        Walk([]).attend([PunctuationHooks()])


class UnrelayedAttribute:
    def visit_Call_func(self, node: cst.Call) -> None:
        pass


def test_the_facts_walk_refuses_an_attribute_event_it_does_not_relay() -> None:
    with pytest.raises(TypeError, match="UnrelayedAttribute.visit_Call_func"):
        Walk([]).attend([UnrelayedAttribute()])


def test_scope_analysis_is_the_same() -> None:
    module = cst.parse_module("".join(SOURCES.values()))

    def scope_facts() -> list:
        scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
        found = {scope for scope in scopes.values() if scope is not None}
        return sorted(
            (type(scope).__name__, name, len(scope.accesses[name]), len(scope.assignments[name]))
            for scope in found
            for name in {assignment.name for assignment in scope.assignments} | set(accessed_names(scope))
        )

    expected = scope_facts()
    with read_only_visits():
        assert scope_facts() == expected


def accessed_names(scope) -> list[str]:
    return [access.node.value for access in scope.accesses if isinstance(access.node, cst.Name)]


class Renamer(cst.CSTTransformer):
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value=updated_node.value.upper())


def test_transformers_still_change_the_tree() -> None:
    module = cst.parse_module("x = y + f(z)\n")
    with read_only_visits():
        assert module.visit(Renamer()).code == "X = Y + F(Z)\n"


def test_nodes_are_not_copied() -> None:
    module = cst.parse_module("x = 1\n")
    with read_only_visits():
        assert module.visit(cst.CSTVisitor()) is module


def test_libcst_walk_is_back_after_nested_blocks() -> None:
    libcst_visit = cst.CSTNode.visit
    with read_only_visits():
        with read_only_visits():
            pass
        assert cst.CSTNode.visit is not libcst_visit
    assert cst.CSTNode.visit is libcst_visit


def test_libcst_walk_is_back_after_an_error() -> None:
    libcst_visit = cst.CSTNode.visit
    with pytest.raises(ZeroDivisionError), read_only_visits():
        1 / 0
    assert cst.CSTNode.visit is libcst_visit
