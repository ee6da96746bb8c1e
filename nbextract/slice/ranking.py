"""The prediction candidates of a source, best first, each with the reasons for its place: what kind of prediction it
is (a predict method, a model called, a transform), whether the source kept its result or only scored it, and where it
comes; `find_prediction` takes the first, `nbextract analyze` prints them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst
import networkx as nx

from .. import knowledge
from ..graph import Statement, StatementGraph, nodes_of
from ..graph.hoist import is_prediction
from ..options import Options
from ..vocabulary import VALUE_KINDS, Tag
from .answer import Scored, scored_answers
from .boundaries import (
    conversion_error,
    data_reads,
    post_processing,
    refuse_non_variable,
)
from .plan import Boundary
from .roles import calls_model, fits, is_evaluation, is_no_grad_block, predict_call

Test = Callable[[StatementGraph, Statement], bool]

TRANSFORM = "calls a transform"
KINDS: tuple[tuple[str, Test], ...] = (
    ("calls a predict method", lambda graph, statement: predict_call(statement) in knowledge.PREDICT_METHODS),
    ("applies a model", lambda graph, statement: calls_model(graph, statement) and not fits(statement)),
    (TRANSFORM, lambda graph, statement: predict_call(statement) in knowledge.TRANSFORM_METHODS),
)


@dataclass(frozen=True)
class Candidate:
    statement: int
    kind: int
    """Index in KINDS: a predict method before a model called before a transform."""
    scored_only: bool
    reasons: tuple[str, ...]

    @property
    def order(self) -> tuple[bool, int, int]:
        """Kept before only scored, then by kind, then the later in the source first."""
        return self.scored_only, self.kind, -self.statement


def find_prediction(graph: StatementGraph, candidates: list[Candidate], wanted: Boundary | None) -> int:
    """For a wanted output (`wanted_output`), the best-ranked candidate that feeds it (a model applied before the
    transform that prepared its input), else its own statement; else the last cell tagged nbextract:infer, else the
    best-ranked candidate."""
    if wanted is not None:
        chain = {wanted.statement, *nx.ancestors(graph.graph, wanted.statement)}
        feeding = [candidate.statement for candidate in candidates if candidate.statement in chain]
        return feeding[0] if feeding else wanted.statement
    tagged = [statement.index for statement in graph.statements if statement.tag == Tag.INFER]
    if tagged:
        return tagged[-1]
    if not candidates:
        raise conversion_error(
            graph, "no prediction call found; mark the inference cell with the tag nbextract:infer or pass --output VAR"
        )
    return candidates[0].statement


def wanted_output(graph: StatementGraph, options: Options, candidates: list[Candidate]) -> Boundary | None:
    """The output asked for (--output, bound last by the variable named), else, unless a cell is tagged
    nbextract:infer, the answer of a model written by hand (`hand_written_answer`)."""
    if options.output_var:
        binder = graph.binder(len(graph.statements), options.output_var)
        if binder is None:
            raise conversion_error(graph, f"--output {options.output_var}: no statement binds this variable")
        refuse_non_variable(graph, binder, "--output", options.output_var)
        return Boundary(options.output_var, binder, str(graph.statements[binder].origin))
    if any(statement.tag == Tag.INFER for statement in graph.statements):
        return None
    answer = hand_written_answer(graph, candidates)
    return answer.answer if answer else None


def hand_written_answer(graph: StatementGraph, candidates: list[Candidate]) -> Scored | None:
    """The prediction the source's last evaluation scores, when no predict method and no model call makes it (only
    transforms, or nothing the ranking knows, feed it) and no candidate comes after it: the final answer of a model
    written by hand, which no candidate would find."""
    scored = scored_answers(graph)
    if not scored or graph.statements[scored[-1].answer.statement].tag == Tag.TRAIN:
        return None
    answer = scored[-1].answer
    chain = {answer.statement, *nx.ancestors(graph.graph, answer.statement)}
    if any(candidate.statement in chain and KINDS[candidate.kind][0] != TRANSFORM for candidate in candidates):
        return None
    if candidates and candidates[0].statement > answer.statement:
        return None
    return scored[-1]


def prediction_candidates(graph: StatementGraph) -> list[Candidate]:
    """Every statement that may be the source's prediction, best first; a `predict_proba` that only scores what a
    `predict` of the same model on the same data labels goes after that `predict`, the source's final answer."""
    found = [candidate for statement in graph.statements if (candidate := candidate_of(graph, statement))]
    ranked = sorted(found, key=lambda candidate: candidate.order)
    return labels_first(graph, ranked)


def candidate_of(graph: StatementGraph, statement: Statement) -> Candidate | None:
    if not (statement.kind in VALUE_KINDS or is_no_grad_block(statement) or collects_predictions(statement)):
        return None
    if statement.tag == Tag.TRAIN or is_evaluation(statement):
        return None
    kind = next((number for number, (_, test) in enumerate(KINDS) if test(graph, statement)), None)
    if kind is None:
        return None
    scored = scored_only(graph, statement.index)
    kept = "only scored or checked: nested in a metric call or a check" if scored else "kept: " + kept_how(statement)
    return Candidate(statement.index, kind, scored, (KINDS[kind][0], kept))


def scored_only(graph: StatementGraph, index: int) -> bool:
    """A prediction hoisted out of a metric call (`r2_score(y_test, reg.predict(X_test))`) or a check (an assert or a
    comparison: `assert (y_pred == pipe.predict(X_test)).all()`): the source only scored it; one hoisted out of
    `print(...)`, a collection or an index (`centers[km.predict(X)]`) was kept."""
    if not graph.statements[index].hoisted:
        return False
    nested_in = next(statement for statement in graph.statements[index + 1 :] if not statement.hoisted)
    if any(knowledge.is_metric(call) for call in nested_in.calls):
        return True
    checks = nodes_of(nested_in.node, cst.Assert, cst.Comparison)
    return any(name.value in graph.statements[index].defines for check in checks for name in nodes_of(check, cst.Name))


def collects_predictions(statement: Statement) -> bool:
    """A loop that predicts and keeps each answer, into an item (`Y_pred[i] = tree.predict(X_test)`) or a list
    (`preds.append(model.predict(x))`), without fitting anything: a forest of models, or rows one at a time."""
    if not isinstance(statement.node, cst.For) or fits(statement):
        return False
    stored = [
        assign.value
        for assign in nodes_of(statement.node.body, cst.Assign)
        if any(isinstance(target.target, cst.Subscript) for target in assign.targets)
    ]
    appended = [
        call.args[0].value
        for call in nodes_of(statement.node.body, cst.Call)
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("append", "extend") and call.args
    ]
    return any(is_prediction(call) for value in (*stored, *appended) for call in nodes_of(value, cst.Call))


def kept_how(statement: Statement) -> str:
    if isinstance(statement.node, cst.For):
        return "collected in a loop"
    if statement.hoisted:
        return "printed or collected"
    return "assigned" if statement.defines else "shown"


def labels_first(graph: StatementGraph, ranked: list[Candidate]) -> list[Candidate]:
    """The ranking with the `predict` of the first candidate's model and data moved before it when that candidate
    only scores (`predict_proba`) and nothing is derived from its scores."""
    if not ranked:
        return ranked
    first = graph.statements[ranked[0].statement]
    method = predict_call(first)
    if method not in knowledge.SCORE_METHODS or post_processing(graph, first.index):
        return ranked
    labels = [
        candidate
        for candidate in ranked[1:]
        if candidate.scored_only == ranked[0].scored_only
        and predict_call(graph.statements[candidate.statement]) == "predict"
        and models_called(graph.statements[candidate.statement], "predict") & models_called(first, method)
        and data_reads(graph, graph.statements[candidate.statement]) == data_reads(graph, first)
    ]
    if not labels:
        return ranked
    chosen = labels[0]
    moved = Candidate(
        chosen.statement, chosen.kind, chosen.scored_only, (*chosen.reasons, f"labels what {method} scores")
    )
    return [moved, *(candidate for candidate in ranked if candidate is not chosen)]


def models_called(statement: Statement, method: str) -> set[str]:
    return {receiver for receiver, called in statement.methods if called == method}


def describe_candidates(graph: StatementGraph, candidates: list[Candidate]) -> str:
    """The ranking as `nbextract analyze` prints it: one line a candidate, best first, with its reasons, and the
    answer of a model written by hand when there is one, which goes before them."""
    answer = hand_written_answer(graph, candidates)
    chosen = (
        f"output chosen: {answer.answer.name} ({answer.answer.origin}), the prediction scored last (at "
        f"{answer.evaluation}), which no predict method or model call makes: a model written by hand\n"
        if answer
        else ""
    )
    if not candidates:
        return chosen or "prediction candidates: none (tag the inference cell nbextract:infer or pass --output VAR)\n"
    rows = ["prediction candidates, best first (--output VAR or the tag nbextract:infer chooses another):"]
    for place, candidate in enumerate(candidates, start=1):
        statement = graph.statements[candidate.statement]
        rows.append(f"  {place}. {statement.origin}: {statement.label} ({'; '.join(candidate.reasons)})")
    return "\n".join(rows) + "\n" + chosen
