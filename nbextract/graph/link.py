"""Linking: an edge from the latest earlier statement that binds each name a statement reads (calling a function of
the source reads what its body reads and binds what it writes), and edges between statements that write and read the
same file."""

from __future__ import annotations

from typing import cast

import libcst as cst
import networkx as nx

from ..knowledge import FOLDER_CALLS, SAVE_CALLS, SAVE_METHODS, looks_like_path
from ..vocabulary import DEFINITIONS, Kind
from .facts import Facts
from .statements import Statement


def link(statements: list[Statement], facts: list[Facts]) -> nx.DiGraph:
    """Edges from the latest earlier binder of each name read; calls pull in what the called function reads/writes."""
    graph = nx.DiGraph()
    latest: dict[str, int] = {}
    for statement in statements:
        graph.add_node(statement.index)
        statement.body_reads = set(facts[statement.index].deferred_reads)
        statement.defines |= called_writes(statement, facts, statements, latest)
        for name in sorted(statement.reads):
            binder = latest.get(name)
            if binder is None:
                continue
            statement.sources[name] = binder
            if graph.has_edge(binder, statement.index):
                graph.edges[binder, statement.index]["names"].append(name)
            else:
                graph.add_edge(binder, statement.index, names=[name])
        for name in statement.defines:
            latest[name] = statement.index
    link_files(statements, graph)
    return graph


def link_files(statements: list[Statement], graph: nx.DiGraph) -> None:
    """Edges from a statement that saves to a path to later statements naming the same path (`joblib.load(p)`).

    A path is named by a literal or by a variable bound to one. These edges carry `file <path>` and never enter
    `sources`: they order statements, they are not variables."""
    writers: dict[str, int] = {}
    for statement in statements:
        paths = named_paths(statement, statements)
        for path in sorted(paths):
            for writer in {writers[folder] for folder in (path, *parent_folders(path)) if folder in writers}:
                if writer == statement.index:
                    continue
                label = f"file {path}"
                if graph.has_edge(writer, statement.index):
                    graph.edges[writer, statement.index]["names"].append(label)
                else:
                    graph.add_edge(writer, statement.index, names=[label])
        if statement.calls & (SAVE_CALLS | FOLDER_CALLS) or any(method in SAVE_METHODS for _, method in statement.methods):
            writers.update({path: statement.index for path in paths})


def named_paths(statement: Statement, statements: list[Statement]) -> set[str]:
    """Paths a statement names: its own path literals, and string literals bound to the variables it reads."""
    folders = bool(statement.calls & FOLDER_CALLS)
    bound = [statements[binder].literal for binder in statement.sources.values()]
    return statement.paths | {
        value.rstrip("/") for value in bound if isinstance(value, str) and (folders or looks_like_path(value))
    }


def parent_folders(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)]


def called_writes(
    statement: Statement, facts: list[Facts], statements: list[Statement], latest: dict[str, int]
) -> set[str]:
    """Reading a function defined in the source reads what its body reads (transitively) and binds what it writes;
    names passed to such a function may be changed by it."""
    writes: set[str] = set()
    seen: set[int] = set()
    pending = sorted(statement.reads)
    while pending:
        binder = latest.get(pending.pop())
        if binder is None or binder in seen or statements[binder].kind not in DEFINITIONS:
            continue
        seen.add(binder)
        body = facts[binder]
        new = body.deferred_reads - statement.reads
        statement.reads |= new
        statement.via_calls |= new
        pending.extend(new)
        writes |= body.deferred_writes
    for call in facts[statement.index].user_calls:
        binder = latest.get(cast(cst.Name, call.func).value)  # user_calls: calls of plain names
        if binder is not None and statements[binder].kind == Kind.DEF:
            changed = facts[binder].mutated_params
            writes |= {arg for param, arg in arguments(cast(cst.FunctionDef, statements[binder].node), call) if param in changed and arg in latest}
    return writes


def arguments(function: cst.FunctionDef, call: cst.Call) -> list[tuple[str, str]]:
    """(parameter, variable) pairs for the plain-name arguments of a call to `function`."""
    params = [param.name.value for param in (*function.params.posonly_params, *function.params.params)]
    pairs = []
    for position, arg in enumerate(call.args):
        if not isinstance(arg.value, cst.Name) or arg.star:
            continue
        if arg.keyword is not None:
            pairs.append((arg.keyword.value, arg.value.value))
        elif position < len(params):
            pairs.append((params[position], arg.value.value))
    return pairs
