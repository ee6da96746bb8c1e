"""The read-only front of the pipeline: read -> normalise magics -> statement graph, and its text report."""

from __future__ import annotations

from pathlib import Path

from . import graph, magics, read
from .graph import StatementGraph


def analyse(path: str | Path) -> StatementGraph:
    document = read.read(path)
    return graph.build(document, magics.normalise(document))


def describe(statements: StatementGraph) -> str:
    """Per statement: origin, names defined, names read, and the statements it depends on."""
    rows = []
    for statement in statements.statements:
        depends = ", ".join(
            f"{name}<-{statements.statements[source].origin}" for name, source in sorted(statement.sources.items())
        )
        rows.append(
            f"[{statement.index}] {statement.origin}: {statement.label}\n"
            f"    defines: {', '.join(sorted(statement.defines)) or '-'}\n"
            f"    reads:   {', '.join(sorted(statement.reads)) or '-'}\n"
            f"    depends: {depends or '-'}"
        )
    for decision in statements.magics:
        rows.append(f"magic {decision.magic} (cell {decision.cell}, line {decision.line}): {decision.action} {decision.detail}")
    for finding in statements.findings:
        rows.append(f"finding: {finding.kind} ({finding.origin}): {finding.message}")
    return "\n".join(rows) + "\n"
