"""The import statements emitted code needs: those binding the names it reads, trimmed to those names."""

from __future__ import annotations

from typing import cast

import libcst as cst

from ..graph import Statement
from ..graph.nodes import TopLevel, import_statement
from ..slice import Plan


def reads_of_helpers(plan: Plan, helpers: list[int]) -> dict[str, int]:
    """name -> binder for everything helper code reads, bodies included, as of the prediction."""
    statements = plan.graph.statements
    reads = {}
    for index in helpers:
        for name in statements[index].body_reads | statements[index].reads:
            binder = plan.graph.binder(plan.prediction, name)
            if binder is not None:
                reads[name] = binder
    return reads


def imports_for(plan: Plan, indices: list[int], reads: dict[str, int] | None) -> list[str]:
    """Import statements binding the names these statements read, trimmed to those names, in source order."""
    statements = plan.graph.statements
    wanted: dict[int, set[str]] = {}
    end = max(indices, default=0) + 1
    pairs = reads.items() if reads is not None else [
        (name, binder) for index in indices for name, binder in emitted_sources(plan, statements[index], end).items()
    ]
    for name, binder in pairs:
        if statements[binder].kind == "import":
            wanted.setdefault(binder, set()).add(name)
    return [trimmed_import(statements[binder].node, names) for binder, names in sorted(wanted.items())]


def written_reads(statement: Statement) -> set[str]:
    """The names the statement's own code reads, not those read only in the body of a function it calls."""
    return statement.reads - statement.via_calls


def written_sources(statement: Statement) -> dict[str, int]:
    """name -> binder of the names the statement's own code reads (the code that is emitted needs their imports)."""
    return {name: binder for name, binder in statement.sources.items() if name not in statement.via_calls}


def emitted_sources(plan: Plan, statement: Statement, end: int) -> dict[str, int]:
    """name -> binder of what the statement's emitted code reads: its own code, and the body of a def or class (the
    binder as of `end`, when the function runs)."""
    body = {name: plan.graph.binder(end, name) for name in statement.body_reads}
    return {**{name: binder for name, binder in body.items() if binder is not None}, **written_sources(statement)}


def trimmed_import(node: TopLevel, names: set[str]) -> str:
    """The import statement `node`, binding only `names` (all of them, for `import *`)."""
    statement = import_statement(node)
    if isinstance(statement.names, cst.ImportStar):
        return cst.Module(body=[node.with_changes(leading_lines=[])]).code.strip()
    kept = [alias for alias in statement.names if alias_name(alias) in names]
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if isinstance(statement, cst.ImportFrom):
        statement = statement.with_changes(names=kept, lpar=None, rpar=None)
    else:
        statement = statement.with_changes(names=kept)
    return cst.Module(body=[cst.SimpleStatementLine([statement])]).code.strip()


def alias_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None:
        return cast(cst.Name, alias.asname.name).value
    return cst.Module(body=[]).code_for_node(alias.name).split(".")[0]
