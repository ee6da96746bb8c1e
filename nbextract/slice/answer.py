"""What the source's evaluations score: the prediction a metric is given (`confusion_matrix(y_test, y_preds)`, the
`y_pred` side) or the side of an equality with the truth that comes through fitted state (`(y_predict == y_test).mean()`).
A model written by hand (a softmax of `X @ Theta`, a class whose `forward` is numpy) makes no call the ranking
knows; the evaluation still names its answer, and the last one evaluated is the source's final answer."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
import networkx as nx
from libcst.helpers import get_full_name_for_node

from .. import knowledge
from ..graph import Statement, StatementGraph, nodes_of
from .plan import Boundary
from .roles import fits, is_constant, learned_by_hand


@dataclass(frozen=True)
class Scored:
    answer: Boundary
    """The variable scored, where it was bound."""
    evaluation: str
    """Where the source scores it."""


def scored_answers(graph: StatementGraph) -> list[Scored]:
    """Every prediction an evaluation of the source scores, in source order (not in a check: an assert)."""
    return [
        Scored(Boundary(name, binder, str(graph.statements[binder].origin)), str(statement.origin))
        for statement in graph.statements
        if may_evaluate(statement) and not nodes_of(statement.node, cst.Assert)
        for name, binder in (*metric_predictions(graph, statement), *compared_predictions(graph, statement))
    ]


def may_evaluate(statement: Statement) -> bool:
    """Cheap test before walking the statement: it calls a metric or compares for equality."""
    return "==" in statement.code or any(knowledge.scores_predictions(call) for call in statement.calls)


def metric_predictions(graph: StatementGraph, statement: Statement) -> list[tuple[str, int]]:
    """(name, binder) of what metrics of (truth, prediction) are given as the prediction."""
    pairs = [
        pair
        for call in nodes_of(statement.node, cst.Call)
        if knowledge.scores_predictions(get_full_name_for_node(call.func) or "")
        for pair in [truth_and_prediction(call)]
        if pair is not None
    ]
    return [
        (predicted, statement.sources[predicted])
        for truth, predicted in pairs
        if distinct_data(graph, statement, truth, predicted) and reads_fitted_state(graph, statement.sources[predicted])
    ]


def truth_and_prediction(call: cst.Call) -> tuple[str, str] | None:
    """The names of `metric(y_true, y_pred)`, given by position or keyword, when both are plain names."""
    positional = [arg.value for arg in call.args if arg.keyword is None and arg.star == ""]
    named = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    truth = keyword_value(named, knowledge.TRUTH_KEYWORDS) or (positional.pop(0) if positional else None)
    predicted = keyword_value(named, knowledge.PREDICTION_KEYWORDS) or (positional.pop(0) if positional else None)
    if isinstance(truth, cst.Name) and isinstance(predicted, cst.Name):
        return truth.value, predicted.value
    return None


def keyword_value(named: dict[str, cst.BaseExpression], words: tuple[str, ...]) -> cst.BaseExpression | None:
    return next((named[word] for word in words if word in named), None)


def compared_predictions(graph: StatementGraph, statement: Statement) -> list[tuple[str, int]]:
    """(name, binder) of the side of `a == b` between two data variables that reads fitted state, when the other does
    not: the prediction compared with the truth (`(y_predict == y_test).mean()`)."""
    found = []
    for comparison in nodes_of(statement.node, cst.Comparison):
        if len(comparison.comparisons) != 1 or not isinstance(comparison.comparisons[0].operator, cst.Equal):
            continue
        sides = [side.value for side in (comparison.left, comparison.comparisons[0].comparator) if isinstance(side, cst.Name)]
        if len(sides) != 2 or not distinct_data(graph, statement, *sides):
            continue
        fitted = [name for name in sides if reads_fitted_state(graph, statement.sources[name])]
        if len(fitted) == 1:
            found.append((fitted[0], statement.sources[fitted[0]]))
    return found


def distinct_data(graph: StatementGraph, statement: Statement, truth: str, predicted: str) -> bool:
    """Two different variables, both bound before the statement by statements that are not constants."""
    binders = [statement.sources.get(name) for name in (truth, predicted)]
    return truth != predicted and all(binder is not None and not is_constant(graph, binder) for binder in binders)


def reads_fitted_state(graph: StatementGraph, index: int) -> bool:
    """Whether the value bound at `index` comes through something fitted: a fit-like call, or a parameter learned by
    hand in a loop; the truth a prediction is compared with does not."""
    chain = [graph.statements[member] for member in {index, *nx.ancestors(graph.graph, index)}]
    return any(fits(member) or any(learned_by_hand(member, name) for name in member.defines) for member in chain)
