"""Scopes: the statements analysed by libcst's ScopeProvider in segments, the global bindings of the whole source
whichever segment holds them, and what a name or a call means where a segment uses it."""

from __future__ import annotations

import functools
import io
import pickle
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import cast

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    ExpressionContextProvider,
    GlobalScope,
    ImportAssignment,
    QualifiedName,
    QualifiedNameSource,
    Scope,
    ScopeProvider,
)
from libcst.metadata.scope_provider import _ASSIGNMENT_LIKE_NODES as ASSIGNMENT_LIKE_NODES
from libcst.metadata.scope_provider import ScopeVisitor

from .. import fork
from ..traversal import nodes_by_id
from .nodes import root_name
from .statements import Statement

SEGMENT = 64
"""Statements per scope analysis. libcst's ScopeProvider resolves each use of a name against every binding of that name
in its scope, so one module of a whole notebook that rebinds `df` hundreds of times costs the square of its length;
segments of this many statements keep it linear, and GlobalBindings answers for names bound in other segments."""
GLOBAL = 0


FORK_SEGMENTS = 4
"""From this many segments on, when the process may fork (fork.may_fork), a forked child analyses the second half of
them while this process analyses the first: the scope analysis is about a third of the statement graph's time."""


@dataclass
class Segment:
    """Consecutive statements analysed as one module by libcst's ScopeProvider."""

    module: cst.Module
    scope_of: Mapping[cst.CSTNode, Scope | None]

    @property
    def global_scope(self) -> GlobalScope:
        return cast(GlobalScope, self.scope_of[self.module])

    def scopes(self) -> set[Scope]:
        return {scope for scope in self.scope_of.values() if scope is not None}


def segments_of(statements: list[Statement]) -> list[Segment]:
    modules = [
        cst.Module(body=[statement.node for statement in statements[start : start + SEGMENT]])
        for start in range(0, len(statements), SEGMENT)
    ]
    if len(modules) < FORK_SEGMENTS or not fork.may_fork():
        return [Segment(module, scopes_of(module)) for module in modules]
    mine, theirs = modules[: len(modules) // 2], modules[len(modules) // 2 :]
    with fork.forked(lambda: [scopes_of(module) for module in theirs], lambda found: dumped(found, theirs)) as child:
        found = [scopes_of(module) for module in mine]
        nodes = nodes_by_id(theirs)
        received = child.result(lambda data: loaded(data, nodes))
    found += received if received is not None else [scopes_of(module) for module in theirs]
    return [Segment(module, scope_of) for module, scope_of in zip(modules, found)]


def scopes_of(module: cst.Module) -> dict[cst.CSTNode, Scope | None]:
    return dict(ModuleLevelWrapper(module, unsafe_skip_copy=True).resolve(CountingScopeProvider))


class CountingScopeVisitor(ScopeVisitor):
    """libcst's ScopeVisitor, which on leaving every node counts it as an assignment when it is one of eighteen node
    classes: an isinstance against a tuple of eighteen abstract classes, each check a call of ABCMeta's Python
    __instancecheck__, was 40% of the scope analysis. The answer is the same for every node of a class (libcst's
    tuple, asked once a class). Nor does it walk whitespace, punctuation and operators (traversal.TRIVIA), whose scope
    nothing asks."""

    trivia_blind = True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.provider.set_metadata(original_node, self.scope)
        if assignment_like(type(original_node)):
            self.scope._assignment_count += 1
        cst.CSTVisitor.on_leave(self, original_node)


@functools.cache
def assignment_like(kind: type) -> bool:
    return issubclass(kind, ASSIGNMENT_LIKE_NODES)


class CountingScopeProvider(ScopeProvider):
    """ScopeProvider walking with CountingScopeVisitor; its metadata is libcst's (tests/test_counting_scopes.py)."""

    def visit_Module(self, node: cst.Module) -> bool | None:
        visitor = CountingScopeVisitor(self)
        node.visit(visitor)
        visitor.infer_accesses()
        return None


def dumped(found: list[dict[cst.CSTNode, Scope | None]], modules: list[cst.Module]) -> bytes:
    """The scopes a forked child found, pickled with each node of the modules as its id: the parent holds the same
    nodes at the same ids (a fork's copy of its memory), so they come back as the parent's own nodes."""
    buffer = io.BytesIO()
    NodeIdPickler(buffer, frozenset(nodes_by_id(modules)), protocol=pickle.HIGHEST_PROTOCOL).dump(found)
    return buffer.getvalue()


def loaded(data: bytes, nodes: dict[int, cst.CSTNode]) -> list[dict[cst.CSTNode, Scope | None]]:
    return NodeIdUnpickler(io.BytesIO(data), nodes).load()


class NodeIdPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, ids: frozenset[int], protocol: int) -> None:
        super().__init__(file, protocol=protocol)
        self.ids = ids

    def persistent_id(self, obj: object) -> int | None:
        return id(obj) if id(obj) in self.ids else None


class NodeIdUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, nodes: dict[int, cst.CSTNode]) -> None:
        super().__init__(file)
        self.nodes = nodes

    def persistent_load(self, pid: int) -> cst.CSTNode:
        return self.nodes[pid]


MODULE_LEVEL_PROVIDERS = (CountingScopeProvider, ExpressionContextProvider)
"""Providers whose whole work is done by their visit_Module, which walks the tree with a visitor of its own."""


class ModuleLevelWrapper(cst.MetadataWrapper):
    """Resolves the module-level providers by calling their visit_Module alone. libcst resolves a batchable provider
    by a batched walk of every node, which for these finds nothing to call after the module: two such walks per
    segment (one per provider) were a third of the statement graph's time."""

    def visit_batched(self, visitors, before_visit=None, after_leave=None) -> cst.CSTNode:
        visitors = list(visitors)
        if before_visit or after_leave or not all(type(v) in MODULE_LEVEL_PROVIDERS for v in visitors):
            return super().visit_batched(visitors, before_visit, after_leave)
        with ExitStack() as stack:
            for visitor in visitors:
                stack.enter_context(visitor.resolve(self))
            for visitor in visitors:
                visitor.visit_Module(self.module)
        return self.module


@dataclass
class GlobalBindings:
    """Every global binding of the source by name, whichever segment holds it, and the segments' global scopes that
    import each imported name."""

    assignments: dict[str, list[Assignment]]
    importers: dict[str, list[GlobalScope]]

    @classmethod
    def of(cls, segments: list[Segment]) -> GlobalBindings:
        assignments: dict[str, list[Assignment]] = {}
        importers: dict[str, list[GlobalScope]] = {}
        for segment in segments:
            for assignment in segment.global_scope.assignments:
                if not isinstance(assignment, Assignment):  # a builtin
                    continue
                assignments.setdefault(assignment.name, []).append(assignment)
                if isinstance(assignment, ImportAssignment) and segment.global_scope not in importers.get(assignment.name, []):
                    importers.setdefault(assignment.name, []).append(segment.global_scope)
        return cls(assignments, importers)

    def imported_and_variables(self) -> tuple[frozenset[str], frozenset[str]]:
        """Global names bound only by imports (modules), and names bound by anything else (variables)."""
        variables = {name for name, found in self.assignments.items() if not all(isinstance(a, ImportAssignment) for a in found)}
        return frozenset(self.importers.keys() - variables), frozenset(variables)

    def qualified_names(self, node: cst.BaseExpression) -> set[QualifiedName]:
        """What a segment that does not bind the root of `node` would have said, had it seen the whole source: the
        imports of it (as the scopes that import it name them) and, for a variable, its own dotted name."""
        full_name = get_full_name_for_node(node)
        if full_name is None:
            return set()
        root = full_name.partition(".")[0]
        names = {name for scope in self.importers.get(root, []) for name in scope.get_qualified_names_for(full_name)}
        if any(not isinstance(a, ImportAssignment) for a in self.assignments.get(root, [])):
            names.add(QualifiedName(full_name, QualifiedNameSource.LOCAL))
        return names


class Names:
    """What a name or a call means where the segment being walked uses it: its own scopes first, then the bindings of
    the whole source for what the segment does not bind."""

    def __init__(self, bindings: GlobalBindings) -> None:
        self.bindings = bindings
        self.imported, self.variables = bindings.imported_and_variables()
        self.scope_of: Mapping[cst.CSTNode, Scope | None] = {}
        self.called: dict[int, set[str]] = {}

    def enter(self, segment: Segment) -> None:
        self.scope_of, self.called = segment.scope_of, {}

    def scope(self, node: cst.CSTNode) -> Scope | None:
        return self.scope_of.get(node)

    def binding_key(self, name: cst.Name) -> tuple[int, str]:
        """The scope that binds `name` as seen from this use: GLOBAL for the source's globals (a global read in a
        function too, and a name bound nowhere, which Python looks up in the globals), else the id of its local scope."""
        assignments = self.assignments_of(name)
        if not assignments or isinstance(assignments[0].scope, GlobalScope):
            return GLOBAL, name.value
        return id(assignments[0].scope), name.value

    def assignments_of(self, name: cst.Name) -> list[Assignment]:
        """The bindings `name` refers to where it is used: those of the function (class, comprehension) scope that binds
        it, else every global binding of the name in the whole source, whichever segment holds it."""
        scope = self.scope(name)
        found = [a for a in scope[name.value] if isinstance(a, Assignment)] if scope is not None else []
        if found and not isinstance(found[0].scope, GlobalScope):
            return found
        return self.bindings.assignments.get(name.value, found)

    def is_global(self, name: cst.Name) -> bool:
        return any(isinstance(assignment.scope, GlobalScope) for assignment in self.assignments_of(name))

    def qualified_names(self, node: cst.BaseExpression) -> set[str]:
        """Qualified names from the scope of this segment, or from the segments that bind the name when this one
        knows it only as a builtin or not at all."""
        scope = self.scope(node)
        names = scope.get_qualified_names_for(node) if scope is not None else set()
        if all(qualified.source is QualifiedNameSource.BUILTIN for qualified in names):
            names = self.bindings.qualified_names(node) or names
        return {qualified.name.removeprefix("builtins.") for qualified in names}

    def of_call(self, node: cst.Call) -> set[str]:
        """Qualified names of a call on an imported name or a builtin (`pandas.read_csv` however pandas was imported),
        worked out once per call for every visitor that asks.

        They come from the scope's own `get_qualified_names_for`, the machinery behind QualifiedNameProvider, asked only
        about these calls: the provider resolves every name of the module eagerly, scanning all assignments of each
        name at each use, which made analysis grow quadratically in notebooks that rebind `df` hundreds of times.
        Calls on variables are kept as (receiver, method) instead.
        """
        if id(node) not in self.called:
            self.called[id(node)] = self.call_names(node)
        return self.called[id(node)]

    def call_names(self, node: cst.Call) -> set[str]:
        root = root_name(node.func)
        if root is not None and root.value in self.variables and root.value not in self.imported:
            return {root.value} if isinstance(node.func, cst.Name) else set()
        return self.qualified_names(node.func)
