"""The read-only front of the pipeline: read -> normalise magics -> statement graph, and its text report."""

from __future__ import annotations

from pathlib import Path

from . import graph, magics, read
from .errors import ConversionError
from .graph import StatementGraph
from .options import Options
from .slice.boundaries import find_input, find_output
from .slice.ranking import Candidate, describe_candidates, find_prediction, prediction_candidates, wanted_output


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
    report = "\n".join(rows) + "\n"
    if not statements.statements:
        return report
    candidates = prediction_candidates(statements)
    return report + describe_candidates(statements, candidates) + boundaries(statements, candidates)


def boundaries(statements: StatementGraph, candidates: list[Candidate]) -> str:
    """The input and output a conversion without flags would take, or why it would stop."""
    options = Options(source=Path(statements.document.path))
    try:
        wanted = wanted_output(statements, options, candidates)
        if not candidates and wanted is None:
            return ""
        prediction = find_prediction(statements, candidates, wanted)
        source = find_input(statements, prediction, options)
    except ConversionError as error:
        return f"boundaries: {error}\n"
    output, _ = find_output(statements, prediction, wanted)
    return f"boundaries: input {source.name} ({source.origin}) -> output {output.name} ({output.origin})\n"
