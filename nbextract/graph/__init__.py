"""Stage 3: the statement-level dependency graph across cells.

A node per top-level statement (a def, class, loop or with block is one node). Facts come from libcst's ScopeProvider
(with its qualified names for calls); an ordered pass then links each read to the latest earlier statement that binds
the name.
Method calls not known to be pure, and assignments to `obj.attr` / `obj[k]`, count as rebinding `obj`, and whatever
shares state with `obj`: an optimizer built from `model.parameters()` (and a scheduler built from the optimizer) changes
`model` when it steps, and `loss.backward()` changes what `loss` was computed from (the model's grads).

By concern: `parse` (cells into one module, broken cells set aside), `statements` (the types, top-level statements,
`main()` inlined), `scopes` (segments of scope analysis, global bindings), `walk` and `facts` (what each statement
binds, reads and calls), `effects` (mutation, shared state, gradients), `link` (edges), `secret_places`.
"""

from __future__ import annotations

from ..document import Document
from ..errors import ReadError
from ..magics import CodeCell
from ..traversal import read_only_visits
from ..vocabulary import FindingKind
from .facts import Facts, collect_facts
from .link import link
from .nodes import method_name, nodes_of, root_name
from .parse import parsed, refuse_huge_cells, where
from .secret_places import distinct_env_names, secret_finding, secret_places, unconverted_secrets
from .statements import NO_LITERAL, Finding, Statement, StatementGraph, split_statements

__all__ = ["NO_LITERAL", "Facts", "Finding", "Statement", "StatementGraph", "build", "method_name", "nodes_of", "root_name"]


def build(document: Document, cells: list[CodeCell]) -> StatementGraph:
    refuse_huge_cells(document)
    try:
        with read_only_visits():
            return build_graph(document, cells)
    except RecursionError:  # libcst's visitors recurse: `1 + 1 + ...` of a few hundred terms is too deep for them
        raise ReadError("code nested too deeply to analyse", path=document.path) from None


def build_graph(document: Document, cells: list[CodeCell]) -> StatementGraph:
    source = parsed(document, cells)
    cells, broken = source.cells, source.broken
    statements, skipped = split_statements(document, source)
    facts, findings = collect_facts(statements)
    statements = [fact.given_to(statement) for fact, statement in zip(facts, statements)]
    distinct_env_names([*statements, *skipped])
    secrets = secret_places([*statements, *skipped])
    findings += [secret_finding(origin, secret) for origin, secret in secrets]
    graph = link(statements, facts)
    magics = [decision for cell in cells for decision in cell.decisions]
    findings += [Finding(FindingKind.SYNTAX_ERROR, where(error), f"{error.message}; cell not converted") for error in broken]
    unconverted = unconverted_secrets(document, magics, broken)
    findings += [Finding(FindingKind.SECRET, str(origin), f"{secret.kind} in {what}; remove it from the source") for what, origin, secret in unconverted]
    return StatementGraph(document, statements, graph, magics, skipped, findings, secrets, broken, [(o, s) for _, o, s in unconverted])
