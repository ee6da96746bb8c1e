"""Stage functions: preprocess, infer and postprocess, each the planned statements of its stage with what it
reads from outside as parameters and what later stages read as returns."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..graph import Statement
from ..graph.nodes import TopLevel, visited
from ..slice import PREDICTION_NAME, Plan, is_no_grad_block
from ..vocabulary import Stage
from .emit import function_code
from .imports import imports_for, written_sources
from .provenance import provenance, with_origins
from .secrets import uses_secrets, when_read
from .settings import ConfiguredBatchSize, keeps_every_batch, pins_device


STAGE_FUNCTIONS = {"preprocess": "preprocess", "infer": "infer", "postprocess": "postprocess"}


@dataclass(frozen=True)
class Param:
    """A stage function's parameter and where the pipeline takes its value: input, stage, artifact or config."""

    name: str
    source: str
    key: str


@dataclass
class StageCode:
    stage: str
    function: str
    params: list[Param]
    returns: list[str]
    code: str
    imports: list[str]
    helper_names: list[str]
    origins: list[str]


def stage_code(plan: Plan, stage: Stage, later: list[int], helper_set: set[int], lazy: dict[str, int], left_out: list[dict]) -> StageCode:
    """One stage as a function: parameters are what its statements read from outside it, returns what later reads."""
    statements = plan.graph.statements
    indices = plan.stages[stage]
    inside = set(indices)
    artifacts = {artifact.variable: artifact for artifact in plan.artifacts}
    config = {value.variable: value for value in plan.config}
    params: dict[str, Param] = {}
    for index in indices:
        for name, binder in sorted(statements[index].sources.items()):
            if binder in inside or statements[binder].kind == "import" or binder in helper_set:
                continue
            if name in artifacts and artifacts[name].statement == binder:
                params.setdefault(name, Param(name, "artifact", name))
            elif name in config and config[name].statement == binder:
                params.setdefault(name, Param(name, "config", config[name].key))
            elif plan.devices.get(name) == binder:
                params.setdefault(name, Param(name, "device", "device"))
            elif binder == plan.input.statement and name == plan.input.name:
                params.setdefault(name, Param(name, "input", name))
            else:
                params.setdefault(name, Param(name, "stage", name))
    if not indices:
        name = upstream_value(plan, stage)
        params[name] = Param(name, "input" if stage == "preprocess" else "stage", name)
    returns = stage_returns(plan, indices, later) if indices else [next(iter(params))]
    data = sorted((p for p in params.values() if p.source in ("input", "stage")), key=lambda p: p.name)
    rest = sorted((p for p in params.values() if p.source not in ("input", "stage")), key=lambda p: (p.source, p.name))
    ordered = data + rest
    body = with_origins(
        [
            (when_read(provenance(as_assignment(plan, statements[index]), statements[index], "device", left_out), statements[index], lazy), statements[index])
            for index in indices
        ]
    )
    if any(pins_device(statements[index]) for index in indices) and "device" not in params:
        ordered.append(Param("device", "device", "device"))
    batching = ConfiguredBatchSize()
    body = [visited(node, batching) for node in body] if keeps_every_batch(plan) else body
    if batching.changed and "batch_size" not in params:
        ordered.append(Param("batch_size", "config", "batch_size"))
    imports = imports_for(plan, indices, None) + (["from .config import secret"] if uses_secrets(plan, indices) else [])
    if needs_no_grad(plan, stage, ordered):
        body = [without_grad(body)]
        imports += [] if "import torch" in imports else ["import torch"]
    function = function_code(STAGE_FUNCTIONS[stage], [p.name for p in ordered], body, returns, STAGE_DOCS[stage])
    used_helpers = sorted({name for index in indices for name, binder in written_sources(statements[index]).items() if binder in helper_set})
    return StageCode(
        stage,
        STAGE_FUNCTIONS[stage],
        ordered,
        returns,
        function,
        imports,
        used_helpers,
        [str(statements[index].origin) for index in indices],
    )


TORCH_FORMATS = frozenset({"torch", "state_dict", "pretrained"})


def needs_no_grad(plan: Plan, stage: Stage, params: list[Param]) -> bool:
    """An inference stage applying a torch model, unless the source already runs it under no_grad/inference_mode."""
    formats = {artifact.variable: artifact.format for artifact in plan.artifacts}
    applies_torch = any(formats[param.name] in TORCH_FORMATS for param in params if param.source == "artifact")
    statements = [plan.graph.statements[index] for index in plan.stages[stage]]
    return stage == "infer" and applies_torch and not all(is_no_grad_block(statement) for statement in statements)


def without_grad(body: list[TopLevel]) -> cst.With:
    """The statements of a torch model's inference, run under `torch.inference_mode()` (no autograd bookkeeping)."""
    item = cst.WithItem(cst.parse_expression("torch.inference_mode()"))
    return cst.With(items=[item], body=cst.IndentedBlock(body=body))


STAGE_DOCS = {
    "preprocess": "Raw input -> model input.",
    "infer": "Model input -> raw predictions.",
    "postprocess": "Raw predictions -> the final output.",
}


def upstream_value(plan: Plan, stage: Stage) -> str:
    """What an empty stage passes through: the input for preprocess, the prediction for postprocess."""
    if stage == Stage.PREPROCESS:
        return plan.input.name
    return stage_returns(plan, plan.stages[Stage.INFER], [])[0]


def stage_returns(plan: Plan, indices: list[int], later: list[int]) -> list[str]:
    """Names bound here that later stages read; the output if it is bound here."""
    statements = plan.graph.statements
    inside = set(indices)
    if plan.output.statement in inside:
        return [plan.output.name]
    names = sorted({name for index in later for name, binder in statements[index].sources.items() if binder in inside})
    return names or [bound(statements[indices[-1]])]


def bound(statement: Statement) -> str:
    return sorted(statement.defines)[0] if statement.defines else PREDICTION_NAME


def as_assignment(plan: Plan, statement: Statement) -> TopLevel:
    """A bare prediction expression `clf.predict(X)` becomes `prediction = clf.predict(X)`."""
    node = statement.node
    is_output = statement.index == plan.output.statement and plan.output.name == PREDICTION_NAME
    if is_output and isinstance(node, cst.SimpleStatementLine) and isinstance(node.body[0], cst.Expr):
        assign = cst.Assign(targets=[cst.AssignTarget(cst.Name(PREDICTION_NAME))], value=node.body[0].value)
        return node.with_changes(body=[assign])
    return node
