"""One walk of each segment's tree for all the small fact visitors, knowing which statement each node belongs to and
whether it is inside a function body."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import libcst as cst

from ..traversal import TRIVIA_NAMES, defines
from .statements import Statement

Method = Callable[[cst.CSTNode], None]


@dataclass
class Found:
    """What the visitors find in one statement while they walk it; frozen into Facts once the walk is done."""

    defines: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    methods: list[tuple[str, str]] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    bases: set[str] = field(default_factory=set)
    made_by: dict[str, str] = field(default_factory=dict)
    deferred_reads: set[str] = field(default_factory=set)
    deferred_writes: set[str] = field(default_factory=set)
    mutated_params: set[str] = field(default_factory=set)
    user_calls: list[cst.Call] = field(default_factory=list)


class Walk(cst.CSTVisitor):
    """Calls the `visit_<Node>`, `leave_<Node>`, `visit_<Node>_<attribute>` and `leave_<Node>_<attribute>` methods of
    each visitor it attends, in the order given, as libcst's visit_batched does (which finds them with inspect: 5 ms a
    visitor a walk). Before them, `current` becomes the statement a node belongs to, and nodes inside a function body
    are `deferred`: what they read and write happens when the function is called. It does not walk whitespace,
    punctuation and operators (traversal.TRIVIA), and a visitor with a method for one of them is refused. Attribute
    events are relayed by a method of the Walk's own for each (`visit_For_body`...), so that the read-only walk calls
    none for the thousands of other fields; a visitor with an attribute method the Walk does not relay is refused."""

    trivia_blind = True

    def __init__(self, statements: list[Statement]) -> None:
        super().__init__()
        self.found = [Found() for _ in statements]
        self.by_id = {id(statement.node): self.found[statement.index] for statement in statements}
        self.current: Found | None = None
        self.owner: dict[int, Found] = {}
        self.deferred: set[int] = set()
        self.function_depth = 0
        self.bodies: set[int] = set()
        self.methods: dict[tuple[str, str, str], tuple[Method, ...]] = {}
        self.by_class: dict[tuple[str, type], tuple[Method, ...]] = {}

    def attend(self, visitors: Iterable[object]) -> None:
        for visitor in visitors:
            for name in dir(type(visitor)):
                event, _, rest = name.partition("_")
                if event in ("visit", "leave") and rest and defines(type(visitor), name):
                    node, _, attribute = rest.partition("_")
                    if node in TRIVIA_NAMES:
                        raise TypeError(f"{type(visitor).__name__}.{name}: the facts walk does not visit {node}")
                    if attribute and name not in vars(Walk):
                        raise TypeError(f"{type(visitor).__name__}.{name}: the facts walk relays no such attribute event")
                    key = (event, node, attribute)
                    self.methods[key] = (*self.methods.get(key, ()), getattr(visitor, name))

    def starts(self, node: cst.CSTNode) -> bool:
        """Whether `node` is a top-level statement itself."""
        return id(node) in self.by_id

    def on_visit(self, node: cst.CSTNode) -> bool:
        key = id(node)
        if key in self.by_id:
            self.current = self.by_id[key]
        if key in self.bodies:
            self.function_depth += 1
        if self.current is not None:
            self.owner[key] = self.current
            if self.function_depth:
                self.deferred.add(key)
        if type(node) is cst.FunctionDef:
            self.bodies.add(id(node.body))
        for method in self.callbacks("visit", type(node)):
            method(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if id(original_node) in self.bodies:
            self.function_depth -= 1
        for method in self.callbacks("leave", type(original_node)):
            method(original_node)

    def relay(self, event: str, node: cst.CSTNode, attribute: str) -> None:
        for method in self.methods.get((event, type(node).__name__, attribute), ()):
            method(node)

    def visit_Assign_value(self, node: cst.Assign) -> None:
        self.relay("visit", node, "value")

    def leave_Assign_value(self, node: cst.Assign) -> None:
        self.relay("leave", node, "value")

    def visit_For_body(self, node: cst.For) -> None:
        self.relay("visit", node, "body")

    def leave_For_body(self, node: cst.For) -> None:
        self.relay("leave", node, "body")

    def callbacks(self, event: str, kind: type) -> tuple[Method, ...]:
        """The visitors' `visit_<Node>` (or `leave_<Node>`) methods for nodes of this class, looked up once a class."""
        found = self.by_class.get((event, kind))
        if found is None:
            found = self.by_class[event, kind] = self.methods.get((event, kind.__name__, ""), ())
        return found
