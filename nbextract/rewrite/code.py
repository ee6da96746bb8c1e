"""The code pieces of a plan, put together: stage functions, helpers and the training script, with what the
report and the templates need to know about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from ..graph.nodes import TopLevel
from ..lift import Lifted, Lifter
from ..slice import Plan, is_replayable
from ..vocabulary import INFERENCE_STAGES
from .emit import module_code
from .imports import imports_for, reads_of_helpers, written_reads
from .metrics import evaluation_statements, metric_names
from .provenance import provenance, with_origins
from .secrets import secret_constants, secrets_read, sets_environment, uses_secrets, when_read
from .stages import StageCode, stage_code
from .training import Training, train_code


RESERVED_KEYS = {"batch_size", "device", "artifacts_dir"}


@dataclass
class Code:
    """Everything the templates need that is code rather than data."""

    stages: dict[str, StageCode]
    helpers: str
    helper_imports: list[str]
    helper_names: list[str]
    train_body: str
    train_imports: list[str]
    train_helper_names: list[str]
    train_uses_secrets: bool = False
    lifted: list[Lifted] = field(default_factory=list)
    read_secrets: list[str] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)
    """origin, comment and reason of each comment left out of the package (commented-out code, machine remarks)"""
    metrics: list[dict] = field(default_factory=list)
    """name and origin of each metric of the source's evaluation that training records into metrics.json"""


def rewrite(plan: Plan) -> Code:
    statements = plan.graph.statements
    taken = {value.key for value in plan.config} | RESERVED_KEYS
    lifter = Lifter(Path(plan.graph.document.path).resolve().parent, taken, plan.graph, frozenset(plan.train))
    helper_set = set(plan.helpers) | class_closure(plan)
    helper_names = sorted({name for index in helper_set for name in statements[index].defines})
    helpers = sorted(index for index in helper_set if not sets_environment(statements[index]))
    lazy = secret_constants(plan, helpers)
    left_out: list[dict] = []
    order = INFERENCE_STAGES
    stages: dict[str, StageCode] = {
        stage: stage_code(plan, stage, [index for later in order[position + 1 :] for index in plan.stages[later]], helper_set, lazy, left_out)
        for position, stage in enumerate(order)
    }
    train = [
        index
        for index in plan.train
        if index not in helper_set and statements[index].kind != "import" and not sets_environment(statements[index])
    ]
    evaluation = evaluation_statements(plan, [*train, *helper_set]) if train else []
    metrics = metric_names(plan, evaluation)
    train_body = train_code(plan, train, Training(lifter, lazy, left_out, evaluation, metrics))
    read_in_training = {name for index in [*train, *evaluation] for name in written_reads(statements[index])}
    return Code(
        stages=stages,
        helpers=module_code(helper_nodes(plan, helpers, lazy, left_out)),
        helper_imports=imports_for(plan, helpers, reads_of_helpers(plan, helpers))
        + (["from .config import secret"] if uses_secrets(plan, helpers) else []),
        helper_names=helper_names,
        train_body=train_body,
        lifted=list(lifter.values.values()),
        train_imports=imports_for(plan, sorted({*train, *evaluation}), None),
        train_helper_names=sorted(set(helper_names) & read_in_training),
        train_uses_secrets=uses_secrets(plan, train),
        read_secrets=secrets_read(plan, [*helpers, *train, *evaluation, *(index for stage in order for index in plan.stages[stage])]),
        left_out=left_out,
        metrics=[{"name": name, "origin": str(statements[index].origin)} for index, names in metrics.items() for name in names.values()],
    )


def class_closure(plan: Plan) -> set[int]:
    """The classes training defines and the functions it passes as values (`FunctionTransformer(double)`): fitted
    state may hold them, and pickle finds them by module, so the package and train.py import them from helpers.py;
    with the functions, classes and constants their bodies use."""
    statements = plan.graph.statements
    pending = [index for index in plan.train if statements[index].kind == "class"] + passed_functions(plan)
    end = max(plan.train, default=0) + 1
    found: set[int] = set()
    while pending:
        index = pending.pop()
        if index in found:
            continue
        found.add(index)
        for name in sorted(statements[index].body_reads | statements[index].reads):
            binder = plan.graph.binder(end, name)
            if binder is not None and binder in plan.train and is_replayable(plan.graph, binder):
                pending.append(binder)
    return {index for index in found if statements[index].kind != "import"}


def passed_functions(plan: Plan) -> list[int]:
    """The functions training defines and reads as values, not calls."""
    statements = plan.graph.statements
    found = []
    for index in plan.train:
        statement = statements[index]
        for name in statement.reads - statement.calls - statement.via_calls:
            binder = statement.sources.get(name)
            if binder is not None and binder in plan.train and statements[binder].kind == "def":
                found.append(binder)
    return found


def helper_nodes(plan: Plan, indices: list[int], lazy: dict[str, int], left_out: list[dict]) -> list[TopLevel]:
    statements = plan.graph.statements
    emitted = [(when_read(provenance(statements[index].node, statements[index], left_out=left_out), statements[index], lazy), statements[index]) for index in indices]
    return with_origins(emitted)
