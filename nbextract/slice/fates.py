"""Fates: where every statement of the source goes, and why; and the statements left out of training that change
its random stream."""

from __future__ import annotations

from .. import knowledge
from ..graph import Finding, Statement
from ..vocabulary import FindingKind, Kind, Stage, Tag
from .plan import Fate, Plan
from .roles import draws_random, fits, is_data_source


def fates(result: Plan) -> dict[int, Fate]:
    """A fate for every statement: what inference keeps, then training (for what inference did not keep), the raw
    input, and the rest dropped."""
    decided = inference_fates(result)
    decided.update(training_fates(result, decided))
    decided.setdefault(
        result.input.statement, Fate(Stage.INPUT, f"binds the raw input {result.input.name}: what predict() receives")
    )
    decided.update(
        (statement.index, Fate(Stage.DROPPED, dropped_reason(statement)))
        for statement in result.graph.statements
        if statement.index not in decided
    )
    return decided


def inference_fates(result: Plan) -> dict[int, Fate]:
    """The stages, config values, batch size, devices, helpers and imports of the package; a later kind wins."""
    statements = result.graph.statements
    decided = {
        index: Fate(stage, stage_reason(result, stage, index)) for stage, indices in result.stages.items() for index in indices
    }
    decided.update((value.statement, Fate(Stage.CONFIG, f"value {value.variable} read by the inference path")) for value in result.config)
    if result.batch_size is not None:
        decided.setdefault(result.batch_size.statement, Fate(Stage.CONFIG, "the default batch_size of infer()"))
    decided.update(
        (index, Fate(Stage.CONFIG, f"the device ({name}): resolved at run time from config (auto: cuda, then mps, then cpu)"))
        for name, index in result.devices.items()
    )
    decided.update(
        (index, Fate(Stage.HELPER, f"defines {', '.join(sorted(statements[index].defines))}, used by inference"))
        for index in result.helpers
    )
    decided.update((index, Fate(Stage.IMPORT, "imported where its names are used")) for index in sorted(imports_read(result)))
    return decided


def training_fates(result: Plan, decided: dict[int, Fate]) -> dict[int, Fate]:
    """The training statements inference does not keep, each with the fitted state it produces or why it is needed."""
    statements = result.graph.statements
    artifact_binders = {artifact.statement: artifact.variable for artifact in result.artifacts}
    fitted = set(artifact_binders.values())
    variables = {index: artifact_binders.get(index) for index in result.train if index not in decided}
    return {
        index: Fate(Stage.TRAIN, f"produces fitted state {variable}" if variable else train_reason(statements[index], fitted))
        for index, variable in variables.items()
    }


def stage_reason(result: Plan, stage: Stage, index: int) -> str:
    if index == result.prediction:
        return "the prediction"
    if stage == Stage.POSTPROCESS:
        return f"turns the prediction into the final output {result.output.name}"
    return f"prepares the input {result.input.name} for the model"


def train_reason(statement: Statement, fitted: set[str]) -> str:
    """Why a training statement is kept; a fit names the fitted state it changes (a training loop binds many names)."""
    if fits(statement):
        return f"fits {', '.join(sorted(statement.defines & fitted or statement.defines))}"
    if is_data_source(statement):
        return "loads or splits the training data"
    return "needed to rebuild the fitted state"


def imports_read(result: Plan) -> set[int]:
    statements = result.graph.statements
    kept = set(result.inference) | set(result.train) | set(result.helpers)
    return {binder for index in kept for binder in statements[index].sources.values() if statements[binder].kind == Kind.IMPORT}


def dropped_reason(statement: Statement) -> str:
    if statement.tag == Tag.TRAIN:
        return "tagged nbextract:train but not needed for the fitted state"
    if any(knowledge.is_plot(call) for call in statement.calls) or any(
        method in knowledge.PLOT_METHODS for _, method in statement.methods
    ):
        return "plot"
    if any(knowledge.is_metric(call) for call in statement.calls):
        return "evaluation metric"
    if any(call in knowledge.DISPLAY_CALLS for call in statement.calls):
        return "output for the reader"
    if fits(statement):
        return "fits a model the prediction does not use"
    if statement.kind == Kind.EXPR:
        return "notebook display (EDA)"
    if statement.kind == Kind.IMPORT:
        return "import not used by the package or training"
    return "not needed for the prediction (dead code or exploration)"


def random_stream_findings(result: Plan) -> list[Finding]:
    """Statements left out of training that draw random numbers between the seed and the last fit: train.py's
    random stream then differs from the source's, and retrained weights will not match the source's exactly."""
    statements = result.graph.statements
    train = set(result.train)
    seeds = [index for index in result.train if any(knowledge.is_seed(call) for call in statements[index].calls)]
    fitting = [index for index in result.train if fits(statements[index]) or draws_random(result.graph, statements[index])]
    if not seeds or not fitting:
        return []
    return [
        Finding(
            FindingKind.REPRODUCIBILITY,
            str(statement.origin),
            f"draws random numbers after the seed ({statements[seeds[0]].origin}) and before training "
            f"({statements[fitting[-1]].origin}) but is not training: retrained weights will differ from the "
            "source's; move it after training or tag its cell nbextract:train",
        )
        for statement in statements[seeds[0] + 1 : fitting[-1]]
        if statement.index not in train and draws_random(result.graph, statement)
    ]
