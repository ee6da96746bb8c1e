"""Stage 4: classify statements and slice the inference path back to the fitted state.

Decisions, in order: the output wanted (--output, or what the source's last evaluation scores when a model written by
hand makes it), the prediction (what feeds that output, a tag, or the best-ranked predict-like call), the final
output (the one wanted, or the prediction followed through its post-processing), the raw input (walking back through
data positions to a split, a loader or --input), the inference statements (those fed by the input that feed the
prediction), the fitted state they read (artifacts), the training slice that produces it, and a fate with a reason
for every other statement.

By decision: `plan` (the types), `roles` (predicates on statements), `boundaries` (prediction, output, input),
`ranking` (the prediction candidates and the output wanted), `answer` (what evaluations score), `forms` (how fitted
state is saved), `slicing` (inference and training slices), `fates`.
"""

from __future__ import annotations

from ..errors import ConversionError
from ..graph import StatementGraph
from ..options import Options
from ..vocabulary import INFERENCE_STAGES
from .boundaries import conversion_error, find_input, find_output, find_reference
from .fates import fates, random_stream_findings
from .forms import saved_form
from .plan import PREDICTION_NAME, Artifact, Boundary, ConfigValue, Fate, Plan
from .ranking import find_prediction, prediction_candidates, wanted_output
from .roles import binds_device, is_no_grad_block, is_replayable
from .slicing import (
    batch_size,
    external_reads,
    inference_slice,
    split_stages,
    training_slice,
)

__all__ = [
    "INFERENCE_STAGES", "PREDICTION_NAME", "Artifact", "Boundary", "ConfigValue", "Fate", "Plan", "binds_device",
    "is_no_grad_block", "is_replayable", "plan",
]


def plan(graph: StatementGraph, options: Options) -> Plan:
    """The plan, or, when a cell set aside for a syntax error may be what it lacks, that cell's error."""
    if not graph.statements and not graph.broken:
        raise conversion_error(graph, nothing_to_convert(graph))
    try:
        result = plan_statements(graph, options)
    except ConversionError:
        if graph.broken:
            raise graph.broken[0] from None
        raise
    if graph.broken and reads_unbound_names(result):
        raise graph.broken[0]
    graph.findings.extend(finding for finding in random_stream_findings(result) if finding not in graph.findings)
    return result


def nothing_to_convert(graph: StatementGraph) -> str:
    """Why a source without a statement to convert cannot be converted, and what to do."""
    if graph.skipped:
        return "every statement is in a cell tagged nbextract:skip; untag the cells that load data, train and predict"
    return "no code to convert (no code cells, or only blank and comment lines); add the code that trains and predicts"


def reads_unbound_names(result: Plan) -> bool:
    """Whether kept code reads a name no statement binds (a broken cell may have been meant to bind it)."""
    statements = result.graph.statements
    kept = set(result.inference) | set(result.train) | set(result.helpers)
    return any(statements[index].reads - set(statements[index].sources) for index in kept)


def plan_statements(graph: StatementGraph, options: Options) -> Plan:
    statements = graph.statements
    candidates = prediction_candidates(graph)
    wanted = wanted_output(graph, options, candidates)
    prediction = find_prediction(graph, candidates, wanted)
    output, post = find_output(graph, prediction, wanted)
    source = find_input(graph, prediction, options)
    inference = inference_slice(graph, source, prediction, post)
    stages = split_stages(statements, inference, prediction, post)
    outside = external_reads(graph, inference, source)
    artifacts = [saved_form(graph, artifact, options.skops) for artifact in outside.artifacts.values()]
    config, helpers = list(outside.config.values()), sorted(outside.helpers)
    train = training_slice(graph, artifacts)
    result = Plan(
        graph, source, output, prediction, stages, train, artifacts, config, helpers, sorted(outside.helper_globals),
        batch_size(graph), devices=outside.devices, reference=find_reference(graph, source, train),
    )
    result.fates = fates(result)
    return result
