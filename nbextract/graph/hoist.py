"""Predictions written inside another expression, hoisted into statements of their own so that slicing sees them:
`mean_squared_error(y_test, reg.predict(X_test))` becomes `y_pred = reg.predict(X_test)` then
`mean_squared_error(y_test, y_pred)`; a literal a prediction is given becomes its input: `model.predict([[5000]])`
becomes `X_new = [[5000]]` then `model.predict(X_new)`. The statements made keep the origin of the one they come from.
Only top-level one-line statements are split; a prediction that already is a statement's whole value, or is used at
once by a method or an index, stays where it is.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Sequence

import libcst as cst

from ..knowledge import PREDICT_METHODS
from .nodes import TopLevel, nodes_of, visited

PREDICTION = "y_pred"
LITERAL_INPUT = "X_new"
LITERALS = (cst.List, cst.Tuple, cst.Integer, cst.Float, cst.SimpleString, cst.UnaryOperation)


def is_prediction(node: cst.CSTNode) -> bool:
    """`model.predict(...)` and the other predict-like methods, called on a plain name."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name)
        and node.func.attr.value in PREDICT_METHODS
        and bool(node.args)
    )


def is_literal_data(node: cst.BaseExpression) -> bool:
    """A list or tuple written out of constants only (`[[5, 2]]`, `["a good film"]`)."""
    if not isinstance(node, (cst.List, cst.Tuple)):
        return False
    return not nodes_of(node, cst.Name, cst.Call, cst.Attribute, cst.Subscript) and all(
        isinstance(element.value, LITERALS) for element in node.elements
    )


class Hoist(cst.CSTTransformer):
    """Replaces, inside one statement, the literal input of a prediction and the nested predictions themselves by
    fresh names, remembering the assignments that bind them, in the order they must run; never inside a comprehension, a
lambda or a conditional expression, where the prediction reads names of its own or may not run at all. A prediction
whose result is used at once (`m.predict(X).round()`, `m.predict_proba(X)[:, 1]`) stays, with what uses it."""

    def __init__(self, taken: TakenNames, whole: cst.BaseExpression | None) -> None:
        super().__init__()
        self.taken = taken
        self.whole = whole
        self.assignments: list[cst.SimpleStatementLine] = []
        self.scoped = 0
        self.receivers: set[int] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.receivers.add(id(node.value))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self.receivers.add(id(node.value))

    def visit_scope(self, node: cst.CSTNode) -> None:
        self.scoped += 1

    def leave_scope(self, original_node: cst.BaseExpression, updated_node: cst.BaseExpression) -> cst.BaseExpression:
        self.scoped -= 1
        return updated_node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda = visit_IfExp = visit_scope
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = leave_Lambda = leave_IfExp = leave_scope

    def fresh(self, base: str) -> str:
        name, number = base, 2
        while name in self.taken:
            name, number = f"{base}_{number}", number + 1
        self.taken.add(name)
        return name

    def bind(self, base: str, value: cst.BaseExpression) -> cst.Name:
        name = self.fresh(base)
        target = cst.AssignTarget(cst.Name(name))
        self.assignments.append(cst.SimpleStatementLine([cst.Assign([target], value)]))
        return cst.Name(name)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not is_prediction(original_node) or self.scoped:
            return updated_node
        first = updated_node.args[0]
        if first.keyword is None and is_literal_data(first.value):
            updated_node = updated_node.with_changes(args=[first.with_changes(value=self.bind(LITERAL_INPUT, first.value)), *updated_node.args[1:]])
        if original_node is self.whole or id(original_node) in self.receivers:
            return updated_node
        return self.bind(PREDICTION, updated_node)


def whole_value(small: cst.BaseSmallStatement) -> cst.BaseExpression | None:
    """The expression a statement is made of: an expression statement's, or an assignment's value."""
    if isinstance(small, (cst.Expr, cst.Assign)):
        return small.value
    return None


def hoisted(node: TopLevel, taken: TakenNames) -> list[TopLevel]:
    """The statement split into the assignments of what it predicts on or predicts inside, then itself; a statement
    with neither is returned alone, unchanged."""
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return [node]
    small = node.body[0]
    if isinstance(small, (cst.Import, cst.ImportFrom)) or not any(is_prediction(call) for call in nodes_of(small, cst.Call)):
        return [node]
    hoist = Hoist(taken, whole_value(small))
    rewritten = visited(node, hoist)
    if not hoist.assignments:
        return [node]
    first, *rest = hoist.assignments
    return [first.with_changes(leading_lines=node.leading_lines), *rest, rewritten.with_changes(leading_lines=[])]


class TakenNames:
    """The names used anywhere in the code, which a hoisted name must not take: the NAME tokens of the pieces of code
    (each a run of whole statements, as a top-level statement's code), a superset of the names libcst would find.
    Only the pieces that hold a name's text are tokenized, once each, at the first need."""

    def __init__(self, pieces: Sequence[str]) -> None:
        self.pieces = pieces
        self.tokens: dict[int, set[str]] = {}
        self.added: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self.added or any(
            name in self.names_in(number) for number, piece in enumerate(self.pieces) if name in piece
        )

    def add(self, name: str) -> None:
        self.added.add(name)

    def names_in(self, number: int) -> set[str]:
        if number not in self.tokens:
            tokens = tokenize.generate_tokens(io.StringIO(self.pieces[number]).readline)
            self.tokens[number] = {token.string for token in tokens if token.type == tokenize.NAME}
        return self.tokens[number]


def may_predict(code: str) -> bool:
    """Cheap test before parsing: the code names a predict-like method."""
    return any(method in code for method in PREDICT_METHODS)
