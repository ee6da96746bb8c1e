"""The text of emitted code: a function of statements, a module, spaced as black writes them."""

from __future__ import annotations

import libcst as cst

from ..graph.nodes import TopLevel

from .comments import comment_lines


def function_code(name: str, params: list[str], body: list[TopLevel], returns: list[str], doc: str) -> str:
    """`def name(params): "doc"; body; return returns` (no return statement when `returns` is empty)."""
    docstring = cst.SimpleStatementLine([cst.Expr(cst.SimpleString(f'"""{doc}"""'))])
    tail = []
    if returns:
        value = cst.Name(returns[0]) if len(returns) == 1 else cst.Tuple([cst.Element(cst.Name(r)) for r in returns])
        tail = [cst.SimpleStatementLine([cst.Return(value)])]
    function = cst.FunctionDef(
        name=cst.Name(name),
        params=cst.Parameters(params=[cst.Param(cst.Name(param)) for param in params]),
        body=cst.IndentedBlock(body=spaced([docstring, *body, *tail], 1)),
    )
    return cst.Module(body=[function]).code


def spaced(nodes: list[TopLevel], blank: int) -> list[TopLevel]:
    """The statements with the empty lines black puts before and after each def and class (`blank`: 1 in a function
    body, 2 at module level), so that code already in black's style takes black one pass, not two."""
    spaced_nodes = nodes[:1]
    for before, node in zip(nodes, nodes[1:]):
        if is_definition(before) or is_definition(node):
            node = node.with_changes(leading_lines=[*[cst.EmptyLine(indent=False)] * blank, *comment_lines(node)])
        spaced_nodes.append(node)
    return spaced_nodes


def is_definition(node: TopLevel) -> bool:
    return isinstance(node, (cst.FunctionDef, cst.ClassDef))


def module_code(nodes: list[TopLevel]) -> str:
    return cst.Module(body=spaced(nodes, 2)).code if nodes else ""
