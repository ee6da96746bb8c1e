"""The source's evaluation replayed after training, each metric it computes recorded for metrics.json."""

from __future__ import annotations

from collections import Counter

import libcst as cst
import networkx as nx
from libcst.helpers import get_full_name_for_node

from .. import knowledge
from ..graph import Statement
from ..slice import Plan
from ..slice.roles import is_constant


METRICS_VARIABLE = "project_metrics"
NOT_ONE_NUMBER = ("_report", "confusion_matrix", "_curve", "cross_val")


def evaluation_statements(plan: Plan, made_by_training: list[int]) -> list[int]:
    """The source's evaluation that training can replay after it: statements computing a metric (not refitting, not
    drawing), with what they read made by training (its statements and the helpers it imports), by the inference
    path or by constants, and those statements of the inference path and constants themselves; in source order."""
    graph = plan.graph
    made = set(made_by_training)
    inference = set(plan.inference) | {plan.prediction}
    chosen: set[int] = set()
    for index, statement in enumerate(graph.statements):
        if index in made or index in inference or not computes_metric(statement):
            continue
        needed = {ancestor for ancestor in nx.ancestors(graph.graph, index) if ancestor not in made and graph.statements[ancestor].kind != "import"}
        if all(ancestor in inference or is_constant(graph, ancestor) or graph.statements[ancestor].hoisted for ancestor in needed):
            chosen |= needed | {index}
    return sorted(chosen)


def computes_metric(statement: Statement) -> bool:
    """A call computing one number (accuracy_score, mean_squared_error, a `.score()`; not a report, a matrix or a
    curve, not cross-validation, which refits), in a statement that draws nothing."""
    if any(knowledge.is_plot(call) for call in statement.calls):
        return False
    return bool(metric_callees(statement))


def metric_names(plan: Plan, evaluation: list[int]) -> dict[int, dict[str, str]]:
    """statement -> (callee as written -> metric name) of the metric calls of each evaluation statement; a name
    used again gets a number (f1_score, f1_score_2)."""
    seen: Counter[str] = Counter()
    names: dict[int, dict[str, str]] = {}
    for index in evaluation:
        for callee in metric_callees(plan.graph.statements[index]):
            base = callee.split(".")[-1] if callee.split(".")[-1] != "score" else callee.replace(".", "_")
            seen[base] += 1
            names.setdefault(index, {})[callee] = base if seen[base] == 1 else f"{base}_{seen[base]}"
    return names


def metric_callees(statement: Statement) -> list[str]:
    """The callees of the statement's metric calls as written (`accuracy_score`, `metrics.f1_score`, `clf.score`),
    in order."""
    metric_tails = {
        call.split(".")[-1]
        for call in statement.calls
        if knowledge.is_metric(call) and not any(marker in call for marker in NOT_ONE_NUMBER)
    }
    callees = []
    for node in walk_calls(statement.node):
        name = get_full_name_for_node(node.func) or ""
        if name.split(".")[-1] in metric_tails or (name.endswith(".score") and name.count(".") == 1):
            if name not in callees:
                callees.append(name)
    return callees


def walk_calls(node: cst.CSTNode) -> list[cst.Call]:
    """Every call in `node`, outermost first."""
    calls = Calls()
    node.visit(calls)
    return calls.found


class Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)


class NotedMetrics(cst.CSTTransformer):
    """Each metric call `accuracy_score(a, b)` becomes `noted(project_metrics, "accuracy_score", accuracy_score(a, b))`:
    the same value, kept for metrics.json."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names
        self.enclosing_quotes: list[str] = []

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self.enclosing_quotes.append(node.start[-1])

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:
        self.enclosing_quotes.pop()
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        name = self.names.get(get_full_name_for_node(original_node.func) or "")
        quote = self.free_quote()
        if name is None or quote is None:
            return updated_node
        label = cst.SimpleString(f"{quote}{name}{quote}")
        arguments = [cst.Arg(cst.Name(METRICS_VARIABLE)), cst.Arg(label), cst.Arg(updated_node)]
        return cst.Call(cst.Name("noted"), arguments)

    def free_quote(self) -> str | None:
        """A quote the f-strings around the call do not use (before Python 3.12 an f-string's expressions cannot
        reuse its quote), or None when they use both."""
        return next((quote for quote in ('"', "'") if quote not in self.enclosing_quotes), None)
