"""Statements and their graph: the types, and the top-level statements of the parsed source (a def, class, loop or
with block is one statement; a script's `main()` body is inlined where `if __name__ == "__main__":` calls it)."""

from __future__ import annotations

import ast
import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import libcst as cst
import networkx as nx
from libcst.metadata import PositionProvider

from ..document import Document, Origin
from ..errors import ReadError
from ..magics import CodeCell, MagicDecision
from ..secrets import Secret, find_in, redact
from ..vocabulary import FindingKind, Kind, Tag
from .hoist import TakenNames, hoisted, may_predict
from .nodes import TopLevel, names_called
from .parse import Parsed

NO_LITERAL = object()
NEVER_LITERAL = (cst.Call, cst.Attribute, cst.Subscript)
"""Values ast.literal_eval always refuses, whose code need not be generated to know it."""


@dataclass
class Statement:
    """One top-level statement with what it binds and reads (global names only)."""

    index: int
    origin: Origin
    code: str
    kind: Kind
    tag: str | None
    node: TopLevel = field(repr=False)
    defines: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    methods: list[tuple[str, str]] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    body_reads: set[str] = field(default_factory=set)
    via_calls: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    secrets: list[Secret] = field(default_factory=list)
    devices: set[str] = field(default_factory=set)
    bases: set[str] = field(default_factory=set)
    made_by: dict[str, str] = field(default_factory=dict)
    literal: object = field(default=NO_LITERAL, repr=False)
    hoisted: bool = False
    """Made by graph.hoist out of the statement of the source that follows it (a prediction that statement nested in
    a metric call or a print, or a literal it predicted on)."""

    @property
    def shown_code(self) -> str:
        """The code with its secrets replaced by markers: the only form reports may show."""
        return redact(self.code, self.secrets)

    @property
    def label(self) -> str:
        code = self.shown_code
        lines = [line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]
        first = lines[0] if lines else ""
        return first if len(first) <= 48 else first[:45] + "..."


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    origin: str
    message: str


@dataclass
class StatementGraph:
    """Statements in execution order, and a DiGraph whose edge d -> s carries the names s reads from d."""

    document: Document
    statements: list[Statement]
    graph: nx.DiGraph
    magics: list[MagicDecision]
    skipped: list[Statement]
    findings: list[Finding]
    secrets: list[tuple[Origin, Secret]] = field(default_factory=list)
    broken: list[ReadError] = field(default_factory=list)
    unconverted_secrets: list[tuple[Origin, Secret]] = field(default_factory=list)
    """Secrets in markdown, shell lines and cells that do not parse: reported, never read from the environment."""
    constructions: dict[tuple[str, int], int | None] = field(default_factory=dict, repr=False, compare=False)
    """Memo of slice.roles.construction: where the object a name holds at a statement was made (the sources and
    made_by it follows are final once the graph is built)."""

    def binder(self, index: int, name: str) -> int | None:
        """The latest statement before `index` that binds `name`."""
        for earlier in range(index - 1, -1, -1):
            if name in self.statements[earlier].defines:
                return earlier
        return None


def kind_of(node: TopLevel) -> Kind:
    if isinstance(node, cst.FunctionDef):
        return Kind.DEF
    if isinstance(node, cst.ClassDef):
        return Kind.CLASS
    if not isinstance(node, cst.SimpleStatementLine):
        return Kind.BLOCK
    small = node.body[0]
    if isinstance(small, (cst.Import, cst.ImportFrom)):
        return Kind.IMPORT
    if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
        return Kind.ASSIGN
    if isinstance(small, cst.Expr):
        return Kind.EXPR
    return Kind.OTHER


def literal_of(node: TopLevel) -> object:
    """The value of `NAME = <literal>`, or NO_LITERAL."""
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return NO_LITERAL
    small = node.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
        return NO_LITERAL
    if isinstance(small.value, NEVER_LITERAL):
        return NO_LITERAL
    try:
        return ast.literal_eval(cst.Module(body=[]).code_for_node(small.value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return NO_LITERAL


@dataclass(frozen=True)
class Cut:
    """A top-level statement's code, cut from the source with the statements Python's own parser found in it, or
    generated (python None)."""

    code: str
    python: list[ast.stmt] | None = None


@dataclass(frozen=True)
class Located:
    """A top-level statement with its first and last lines and its code."""

    node: TopLevel
    first: int
    last: int
    cut: Cut


def statement_codes(module: cst.Module, source: str) -> list[Cut]:
    """The code of each statement of the module's body: cut from the source where Python's parser and libcst's agree
    on it (see cut_from_source), else generated."""
    cuts = cut_from_source(module, source)
    return cuts if cuts is not None else [Cut(code_of(module, node)) for node in module.body]


def top_level_statements(module: cst.Module, cuts: list[Cut]) -> list[Located]:
    """Top-level statements with their first and last lines and code (`cuts`: those of the module's body); a script's
    `main()` body is inlined where `main()` is called, and lines are counted in the codes; inside `main()`,
    PositionProvider gives the lines and each statement's code is generated."""
    main = entry_point(module)
    positions = cst.MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider) if main else {}
    located = []
    line = 1 + len(module.header)
    for node, cut in zip(module.body, cuts):
        first, last = line + len(node.leading_lines), line + cut.code.count("\n") - 1
        line += cut.code.count("\n")
        if main is not None and node is main[0]:
            continue
        if main is not None and node is main[1]:
            for statement in guarded_statements(*main):
                span = positions[statement]
                located.append(Located(statement, span.start.line, span.end.line, Cut(code_of(module, statement))))
            continue
        located.append(Located(node, first, last, cut))
    return located


def cut_from_source(module: cst.Module, source: str) -> list[Cut] | None:
    """The code of each top-level statement, cut from the source the module was parsed from: what libcst would
    generate for it (its leading lines, itself, the comments its blocks end with), without generating it. A statement
    runs from its leading lines to the next one's: Python's parser gives the line of each statement's first token, and
    libcst the number of its leading lines. None when the two parsers do not agree on the statements (a syntax only
    libcst knows) or on lines (a carriage return)."""
    if "\r" in source:
        return None
    try:
        python_statements = iter(ast.parse(source).body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    starts, groups = [], []
    for node in module.body:
        count = len(node.body) if isinstance(node, cst.SimpleStatementLine) else 1
        group = list(itertools.islice(python_statements, count))
        if len(group) != count:
            return None
        groups.append(group)
        decorators = getattr(group[0], "decorator_list", [])
        starts.append(min([group[0].lineno, *(decorator.lineno for decorator in decorators)]) - len(node.leading_lines))
    if next(python_statements, None) is not None:
        return None
    if starts[:1] not in ([], [1 + len(module.header)]) or starts != sorted(starts):
        return None
    lines = source.split("\n")
    ends = [*starts[1:], len(lines) - len(module.footer)]
    return [
        Cut("\n".join(lines[start - 1 : end - 1]) + "\n", group) for start, end, group in zip(starts, ends, groups)
    ]


def code_of(module: cst.Module, node: TopLevel) -> str:
    """A statement's code, indented as in the source."""
    return module.with_changes(body=[node], header=[], footer=[]).code


def guarded_statements(main: cst.FunctionDef | None, guard: cst.If) -> list[TopLevel]:
    """The statements of the `__main__` block, with main's body (less its returns) in place of the first call; with no
    `main()`, the block's own statements (the flow of a script written under the guard)."""
    if main is None:
        return list(block_of(guard.body)) if isinstance(guard.body, cst.IndentedBlock) else [guard]
    inlined = [statement for statement in block_of(main.body) if not m_is_return(statement)]
    if not isinstance(guard.body, cst.IndentedBlock):
        return inlined
    statements: list[TopLevel] = []
    done = False
    for statement in block_of(guard.body):
        if not done and main.name.value in names_called(statement):
            statements.extend(inlined)
            done = True
        else:
            statements.append(statement)
    return statements


def entry_point(module: cst.Module) -> tuple[cst.FunctionDef | None, cst.If] | None:
    """The `if __name__ == "__main__":` block, with the `def main():` without parameters that it calls (None when it
    calls no such function: the script's flow is the block itself)."""
    defs = {
        node.name.value: node
        for node in module.body
        if isinstance(node, cst.FunctionDef) and not takes_arguments(node)
    }
    for node in module.body:
        if isinstance(node, cst.If) and "__main__" in cst.Module(body=[]).code_for_node(node.test):
            called = {name for name in bare_calls(node) if name in defs}
            if len(called) == 1 and isinstance(defs[next(iter(called))].body, cst.IndentedBlock):
                return defs[called.pop()], node
            return None, node
    return None


def bare_calls(guard: cst.If) -> set[str]:
    """Functions the block calls in an expression statement (`main()`, `sys.exit(main())`), not for a value it keeps
    (`X, y = load_data()`)."""
    lines = guard.body.body if isinstance(guard.body, cst.IndentedBlock) else [guard.body]
    return {
        name
        for line in lines
        if isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite))
        for small in line.body
        if isinstance(small, cst.Expr)
        for name in names_called(small)
    }


def takes_arguments(function: cst.FunctionDef) -> bool:
    params = function.params
    return bool(params.params or params.posonly_params or params.kwonly_params) or isinstance(
        params.star_arg, cst.Param
    )


def block_of(suite: cst.BaseSuite) -> Sequence[TopLevel]:
    """The statements of a block, as a module holds them (libcst types an indented block's as BaseStatement)."""
    return cast(Sequence[TopLevel], suite.body)


def m_is_return(statement: TopLevel) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[-1], cst.Return)


def split_statements(document: Document, source: Parsed) -> tuple[list[Statement], list[Statement]]:
    """The top-level statements of the module, each with its origin in its cell, numbered in order; and apart, those
    of cells tagged nbextract:skip. A prediction nested in another statement is hoisted into one of its own (hoist)."""
    statements: list[Statement] = []
    skipped: list[Statement] = []
    module, cells, starts = source.module, source.cells, source.starts
    cuts = statement_codes(module, source.source)
    taken = TakenNames([cut.code for cut in cuts])
    for located in top_level_statements(module, cuts):
        node = located.node
        cell_number = bisect.bisect_right(starts, located.first) - 1
        cell = cells[cell_number].cell
        offset = starts[cell_number]
        origin = document.origin(cell, located.first - offset + 1, located.last - offset + 1)
        parts = hoisted(node, taken) if may_predict(located.cut.code) else [node]
        for part in parts:
            cut = located.cut if part is node else Cut(code_of(module, part))
            secrets = find_in(part, cut.code, cut.python)
            statement = Statement(0, origin, cut.code, kind_of(part), cell.stage_tag, part, secrets=secrets, hoisted=part is not parts[-1])
            (skipped if statement.tag == Tag.SKIP else statements).append(statement)
    for index, statement in enumerate(statements):
        statement.index = index
    return statements, skipped
