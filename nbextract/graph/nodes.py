"""Small questions about libcst nodes: the variable at the root of an expression, the call that makes a value, the
names a node calls, every node of some types under a node."""

from __future__ import annotations

from typing import TypeAlias, TypeVar, cast

import libcst as cst

TopLevel: TypeAlias = cst.SimpleStatementLine | cst.BaseCompoundStatement
"""A statement as a module's body holds it (libcst's BaseStatement declares neither leading lines nor a body)."""
NodeT = TypeVar("NodeT", bound=cst.CSTNode)


def root_name(node: cst.BaseExpression, through_new_objects: bool = True) -> cst.Name | None:
    """The variable at the root of `a.b[c].d(...)`; without `through_new_objects`, nothing when the chain starts with
    a new object made by calling a name (a method on `MLP(4).to(device)` changes the new MLP, not the class)."""
    while True:
        if isinstance(node, cst.Name):
            return node
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and not through_new_objects:
            return None
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        else:
            return None


def elements(target: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [item for element in target.elements for item in elements(element.value)]
    return [target]


def maker_call(value: cst.BaseExpression) -> cst.Call | None:
    """The call that makes a value, through the methods chained on its result: `MLP(4)` in `MLP(4).to(device)`,
    `torch.load(p)` in `torch.load(p).eval()`."""
    if not isinstance(value, cst.Call):
        return None
    while isinstance(value.func, cst.Attribute) and isinstance(value.func.value, cst.Call):
        value = value.func.value
    return value


def method_name(node: cst.BaseExpression) -> str | None:
    """`fit` in `clf.fit(...)`: the method a call on an attribute calls, or None."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value
    return None



def names_called(node: cst.CSTNode) -> set[str]:
    collector = CallNames()
    node.visit(collector)
    return collector.names


class CallNames(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.names.add(node.func.value)


class NodesOf(cst.CSTVisitor):
    """Every node of the given types under a node, in source order (libcst.matchers.findall without importing
    libcst.matchers, whose import alone costs half a second of every run)."""

    def __init__(self, types: tuple[type[cst.CSTNode], ...]) -> None:
        super().__init__()
        self.types = types
        self.found: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, self.types):
            self.found.append(node)
        return True


def nodes_of(node: cst.CSTNode | list[cst.CSTNode], *types: type[cst.CSTNode]) -> list:
    collector = NodesOf(types)
    for tree in node if isinstance(node, (list, tuple)) else [node]:
        tree.visit(collector)
    return collector.found


def import_statement(node: TopLevel) -> cst.Import | cst.ImportFrom:
    """The import of a statement that is one (`Kind.IMPORT`: a line holding one import)."""
    return cast(cst.Import | cst.ImportFrom, cast(cst.SimpleStatementLine, node).body[0])


def visited(node: NodeT, transformer: cst.CSTTransformer) -> NodeT:
    """The node as `transformer` leaves it: nbextract's transformers change what a node holds, and never remove the
    node they are given nor put several in its place."""
    return cast(NodeT, node.visit(transformer))
