"""The training script's `main`: the training statements, each fitted state saved after the statement that
makes it, then the source's evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import libcst as cst

from ..graph import Statement
from ..graph.nodes import TopLevel, visited
from ..lift import Lifter
from ..slice import Artifact, Plan, binds_device
from .emit import function_code
from .metrics import METRICS_VARIABLE, NotedMetrics
from .provenance import provenance, with_origins
from .secrets import when_read
from .settings import RUN_TIME_DEVICE


class RecordArguments(cst.CSTTransformer):
    """`MLP(a, b)` becomes `build_module("model", MLP, a, b)`: the same module, with its constructor arguments
    remembered so that save_artifact records them beside the state_dict (the package rebuilds the module from them)."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__()
        self.artifact = artifact

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not (isinstance(original_node.func, cst.Name) and original_node.func.value == self.artifact.module):
            return updated_node
        recorded = [cst.Arg(cst.SimpleString(repr(self.artifact.variable))), cst.Arg(updated_node.func)]
        return updated_node.with_changes(func=cst.Name("build_module"), args=[*recorded, *updated_node.args])


@dataclass(frozen=True)
class Training:
    """What train_code needs besides the plan: the lifter, the secret constants, where left-out comments go, the
    source's evaluation statements replayed after training and the names of the metrics they compute."""

    lifter: Lifter
    lazy: dict[str, int]
    left_out: list[dict]
    evaluation: list[int]
    metrics: dict[int, dict[str, str]]


def train_code(plan: Plan, indices: list[int], training: Training) -> str:
    """`def main(project_settings)`: the training statements in source order (their path settings resolved against the
    project), each fitted state saved right after the statement that makes it (and handed to the package's helpers
    when they read it) into the staged artifact set; then the source's evaluation, its metrics recorded into the set."""
    statements = plan.graph.statements
    saves: dict[int, list[str]] = {}
    for artifact in plan.artifacts:
        saves.setdefault(artifact.statement, []).append(artifact.variable)
    emitted: list[tuple[TopLevel, Statement | None]] = []
    if training.evaluation:
        emitted.append((cst.parse_statement(f"{METRICS_VARIABLE} = {{}}\n"), None))
    rebuilt = {artifact.construction: artifact for artifact in plan.artifacts if artifact.format == "state_dict"}
    kept = {*saves_of(saves), *plan.helper_globals, *([plan.reference.name] if plan.reference else [])}
    for position, index in enumerate(indices):
        node = unpacked_only_as_read(statements[index], [*indices[position + 1 :], *training.evaluation], plan, kept)
        if binds_device(statements[index]):
            line = cast(cst.SimpleStatementLine, node)  # binds_device: `device = ...`
            node = line.with_changes(body=[line.body[0].with_changes(value=cst.parse_expression(RUN_TIME_DEVICE))])
        if index in rebuilt:
            node = visited(node, RecordArguments(rebuilt[index]))
        node = when_read(provenance(node, statements[index], RUN_TIME_DEVICE, training.left_out), statements[index], training.lazy)
        emitted.append((training.lifter.lift(node, statements[index]), statements[index]))
        for variable in saves.get(index, []):
            emitted.append((cst.parse_statement(f'save_artifact(project_settings, "{variable}", {variable})\n'), None))
            if variable in plan.helper_globals:
                emitted.append((cst.parse_statement(f"package_helpers.{variable} = {variable}\n"), None))
        if plan.reference is not None and index == plan.reference.statement:
            emitted.append((cst.parse_statement(f"save_profile(project_settings, {plan.reference.name})\n"), None))
    for index in training.evaluation:
        node = provenance(statements[index].node, statements[index], RUN_TIME_DEVICE, training.left_out)
        emitted.append((visited(node, NotedMetrics(training.metrics.get(index, {}))), statements[index]))
    if training.evaluation:
        emitted.append((cst.parse_statement(f"save_metrics(project_settings, {METRICS_VARIABLE})\n"), None))
    doc = "Rebuild the fitted state into the artifact set `project_settings` stages."
    return function_code("main", ["project_settings"], with_origins(emitted), [], doc)


def saves_of(saves: dict[int, list[str]]) -> list[str]:
    return [variable for variables in saves.values() for variable in variables]


def unpacked_only_as_read(statement: Statement, later: list[int], plan: Plan, kept: set[str]) -> TopLevel:
    """The statement with each name it unpacks that nothing after it reads (nor saves) written `_`:
    `X_train, _, y_train, _ = train_test_split(X, y)`."""
    node = statement.node
    if not isinstance(node, cst.SimpleStatementLine) or not isinstance(node.body[0], cst.Assign):
        return node
    assign = node.body[0]
    if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, (cst.Tuple, cst.List)):
        return node
    statements = plan.graph.statements
    read = kept | {name for index in later for name in statements[index].reads | statements[index].body_reads}
    target = assign.targets[0].target
    elements = [
        element.with_changes(value=cst.Name("_"))
        if isinstance(element.value, cst.Name) and element.value.value not in read
        else element
        for element in target.elements
    ]
    if all(isinstance(element.value, cst.Name) and element.value.value == "_" for element in elements):
        return node
    targets = [assign.targets[0].with_changes(target=target.with_changes(elements=elements))]
    return node.with_changes(body=[assign.with_changes(targets=targets), *node.body[1:]])
