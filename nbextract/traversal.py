"""Read-only walks of libcst trees.

libcst visits a node by rebuilding it from its visited children, for a CSTVisitor too, which changes nothing and drops
the copies (libcst's own `CSTNode.visit` says "TODO: provide traversal where children are not replaced"). Building and
validating those copies was about a quarter of the statement graph's time: libcst's ScopeProvider and
ExpressionContextProvider and our facts walk each visit every node of the source.

While `read_only_visits()` is active, a CSTVisitor walks the tree as it is: the same callbacks in the same order, on
the same nodes, without copies. The order of each class's children is read once from libcst's own
`_visit_and_replace_children` (a recording visitor that does not descend); a class whose order one node cannot show
(a child field it skips when None, as an f-string's format spec) keeps libcst's walk. Transformers keep libcst's walk.
A callback that would only reach one of libcst's typed no-op stubs (every `visit_<Class>_<field>` a visitor does not
define, which libcst marks `_is_no_op`) through libcst's default dispatch is not made: a libcst visitor such as the
ScopeProvider's defines a handful of the thousands, and calling the others was a fifth of its walk. Nor are
whitespace, punctuation and operators (TRIVIA) walked for a visitor that can do nothing with them (blind_to_trivia).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import libcst as cst
from libcst import CSTNode, FlattenSentinel, MaybeSentinel, RemovalSentinel

from .process_wide import ProcessWide

LIBCST_VISIT = CSTNode.visit

Fields = tuple[tuple[str, bool, bool], ...]
"""(field, call on_visit_attribute, call on_leave_attribute) for each child field of a class, in visiting order."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """How one kind of visitor walks one class of node: whether its on_visit and on_leave can do anything, its child
    fields (None: libcst's rebuilding of the children, for a class whose order is unknown), and the classes of child
    it does not visit at all (TRIVIA, for a visitor blind to it)."""

    visits: bool
    leaves: bool
    fields: Fields | None
    skips: frozenset[type] = frozenset()


TRIVIA = frozenset(
    {
        cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.Newline, cst.TrailingWhitespace, cst.EmptyLine,
        cst.Comment, cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual, cst.LeftParen, cst.RightParen,
        cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace,
        *(
            kind
            for base in (cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseAugOp)
            for kind in base.__subclasses__()
            if getattr(cst, kind.__name__, None) is kind  # not the class libcst's add_slots replaced
        ),
    }
)
"""Whitespace, comments, punctuation and operators: nodes whose children are only more of them, about two thirds of
the nodes of research code (a SimpleWhitespace on each side of every `=` and `,`). A visitor blind to them (see
blind_to_trivia) does not walk them: the scope analysis and the facts walk visit a third of the nodes."""
TRIVIA_NAMES = frozenset(kind.__name__ for kind in TRIVIA)
BLIND: dict[type, bool] = {}


CHILD_FIELDS: dict[type, tuple[str, ...] | None] = {}
"""The child fields of each node class in libcst's visiting order; None for a class that keeps libcst's walk."""
PLANS: dict[tuple[type, type], Plan] = {}
READ_ONLY: dict[type, bool] = {}
NODE_FIELDS: dict[type, tuple[str, ...]] = {}
"""Every dataclass field of each node class, for nodes_by_id."""
KEPT: dict[type, bool] = {}


def walk_as_is() -> None:
    CSTNode.visit = visit_as_is  # type: ignore[method-assign, assignment]


def walk_as_libcst() -> None:
    CSTNode.visit = LIBCST_VISIT  # type: ignore[method-assign]


READ_ONLY_WALKS = ProcessWide(walk_as_is, walk_as_libcst)


def read_only_visits() -> AbstractContextManager[None]:
    """Within this block (and every block nested in it, in any thread), visitors walk trees without copying them."""
    return READ_ONLY_WALKS.held()


Visited = CSTNode | RemovalSentinel | FlattenSentinel


def visit_as_is(node: CSTNode, visitor: cst.CSTVisitor) -> Visited:
    """`node.visit(visitor)` without rebuilding `node`: libcst's callbacks in libcst's order. A transformer gets
    libcst's own visit, and a class whose order is unknown libcst's rebuilding of its children (what libcst's visit
    does between on_visit and on_leave)."""
    kind = type(visitor)
    read_only = READ_ONLY.get(kind)
    if read_only is None:
        read_only = READ_ONLY[kind] = isinstance(visitor, cst.CSTVisitor)
    if not read_only:
        return LIBCST_VISIT(node, visitor)
    key = (kind, type(node))
    plan = PLANS[key] if key in PLANS else plan_of(kind, node)
    if type(node) in plan.skips:
        return node
    if not plan.visits or visitor.on_visit(node):
        if plan.fields is None:
            node._visit_and_replace_children(visitor)
        else:
            visit_fields(node, visitor, plan)
    if plan.leaves:
        visitor.on_leave(node)
    return node


def visit_fields(node: CSTNode, visitor: cst.CSTVisitor, plan: Plan) -> None:
    skips = plan.skips
    for field, visit_hook, leave_hook in plan.fields or ():
        if visit_hook:
            visitor.on_visit_attribute(node, field)
        value = getattr(node, field)
        shape = type(value)
        if shape is tuple or shape is list:
            for child in value:
                if type(child) not in skips:
                    child.visit(visitor)
        elif value is not None and shape is not MaybeSentinel and shape not in skips:
            value.visit(visitor)
        if leave_hook:
            visitor.on_leave_attribute(node, field)


def plan_of(kind: type, node: CSTNode) -> Plan:
    """Which callbacks `kind` of visitor needs for `node`'s class: its own on_visit (on_leave, on_visit_attribute,
    on_leave_attribute), or libcst's, which calls `visit_<Class>` (`leave_<Class>`, `visit_<Class>_<field>`...) when
    the visitor defines it; and the class's child fields, in order."""
    if type(node) not in CHILD_FIELDS:
        CHILD_FIELDS[type(node)] = child_fields(node)
    fields = CHILD_FIELDS[type(node)]
    name = type(node).__name__
    plan = Plan(
        hooked(kind, "on_visit", cst.CSTVisitor.on_visit, f"visit_{name}"),
        hooked(kind, "on_leave", cst.CSTVisitor.on_leave, f"leave_{name}"),
        None if fields is None else tuple(
            (
                field,
                hooked(kind, "on_visit_attribute", cst.CSTVisitor.on_visit_attribute, f"visit_{name}_{field}"),
                hooked(kind, "on_leave_attribute", cst.CSTVisitor.on_leave_attribute, f"leave_{name}_{field}"),
            )
            for field in fields
        ),
        TRIVIA if blind_to_trivia(kind) else frozenset(),
    )
    PLANS[kind, type(node)] = plan
    return plan


def blind_to_trivia(kind: type) -> bool:
    """Whether `kind` of visitor can do nothing with a trivia node: its on_visit, on_leave and attribute callbacks are
    libcst's, or it says its own do nothing with one (a class attribute `trivia_blind = True`), and it defines no
    method of a trivia class (`visit_Comment`, `leave_Comma_whitespace_after`...) other than libcst's no-op stubs."""
    if kind not in BLIND:
        defaults = all(
            getattr(kind, callback) is getattr(cst.CSTVisitor, callback)
            for callback in ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute")
        )
        BLIND[kind] = (defaults or getattr(kind, "trivia_blind", False)) and not any(
            name.partition("_")[2].partition("_")[0] in TRIVIA_NAMES and defines(kind, name)
            for name in dir(kind)
            if name.startswith(("visit_", "leave_"))
        )
    return BLIND[kind]


def hooked(kind: type, callback: str, default: Callable, method: str) -> bool:
    """Whether calling `callback` can do anything: `kind` overrides it, or defines the `method` libcst's default
    calls."""
    return getattr(kind, callback) is not default or defines(kind, method)


def defines(kind: type, method: str) -> bool:
    """Whether `kind` has the method, other than libcst's no-op stub of it (every `visit_<Class>[_<field>]` and
    `leave_...` a CSTVisitor inherits, marked `_is_no_op`)."""
    found = getattr(kind, method, None)
    return found is not None and not getattr(found, "_is_no_op", False)


def child_fields(node: CSTNode) -> tuple[str, ...] | None:
    """The fields libcst visits for `node`'s class, in order; None when another node of the class might be visited
    otherwise: a field not visited here holds what could be a child (a node, a sequence, None or MaybeSentinel), or a
    field visited here is skipped when it is None (as an f-string's format spec)."""
    fields = visited_fields(node)
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if field.name not in fields and (value is None or isinstance(value, (CSTNode, MaybeSentinel, tuple, list))):
            return None
        if field.name in fields and value is not None and field.name not in visited_fields_when_none(node, field.name):
            return None
    return fields


def visited_fields(node: CSTNode) -> tuple[str, ...]:
    recorder = FieldRecorder()
    node._visit_and_replace_children(recorder)
    return tuple(recorder.fields)


def visited_fields_when_none(node: CSTNode, field: str) -> tuple[str, ...]:
    """The fields libcst visits for a copy of `node` with `field` None; all of them if the field cannot be None."""
    try:
        return visited_fields(node.with_changes(**{field: None}))
    except Exception:  # a required field: libcst cannot build, or walk, such a node
        return (field,)


class FieldRecorder(cst.CSTVisitor):
    """The names of the fields a node's class visits, in order, without descending into them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node: CSTNode) -> bool:
        return False

    def on_leave(self, original_node: CSTNode) -> None:
        return None

    def on_visit_attribute(self, node: CSTNode, attribute: str) -> None:
        self.fields.append(attribute)

    def on_leave_attribute(self, original_node: CSTNode, attribute: str) -> None:
        return None


READ_ONLY[FieldRecorder] = False
"""The recorder's children get libcst's own visit, which asks its on_visit (False) and nothing more: the read-only
walk would work out a plan for each, recording the children of a class not yet met below another, down the whole of
a chain such as `1 + 1 + ...` at once."""


def nodes_by_id(roots: Sequence[CSTNode]) -> dict[int, CSTNode]:
    """Every node of the trees under `roots` but trivia (which no scope names), by id."""
    found: dict[int, CSTNode] = {}
    pending: list[CSTNode] = list(roots)
    while pending:
        node = pending.pop()
        found[id(node)] = node
        for name in NODE_FIELDS.get(type(node)) or node_fields(type(node)):
            value = getattr(node, name)
            if type(value) is tuple or type(value) is list:
                pending.extend(child for child in value if is_kept(type(child)))
            elif is_kept(type(value)):
                pending.append(value)
    return found


def is_kept(kind: type) -> bool:
    """A node class, other than trivia (asked once a class: CSTNode is abstract, and isinstance slow against it)."""
    if kind not in KEPT:
        KEPT[kind] = issubclass(kind, CSTNode) and kind not in TRIVIA
    return KEPT[kind]


def node_fields(kind: type) -> tuple[str, ...]:
    NODE_FIELDS[kind] = tuple(field.name for field in dataclasses.fields(kind))
    return NODE_FIELDS[kind]
