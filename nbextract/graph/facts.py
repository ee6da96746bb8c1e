"""Facts: what each statement binds, reads and calls (global names only), found by small visitors in one walk of each
segment and by the scopes ScopeProvider builds, and returned as frozen values."""

from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst
from libcst.metadata import BuiltinAssignment, GlobalScope

from ..knowledge import FILE_CALLS, FOLDER_CALLS, OPEN_MODE, is_device, looks_like_path
from ..vocabulary import FindingKind, Kind
from .effects import AssignedValues, Mutations
from .nodes import elements, import_statement, root_name
from .scopes import GlobalBindings, Names, segments_of
from .statements import Finding, Statement, literal_of
from .walk import Found, Walk


@dataclass(frozen=True)
class Facts:
    """What one statement does, before reaching definitions are known: what it binds, reads and calls at the top
    level, and what the body of a function it defines reads, writes and changes of its parameters (`deferred`)."""

    defines: frozenset[str]
    reads: frozenset[str]
    calls: frozenset[str]
    methods: tuple[tuple[str, str], ...]
    paths: frozenset[str]
    devices: frozenset[str]
    bases: frozenset[str]
    made_by: tuple[tuple[str, str], ...]
    literal: object
    deferred_reads: frozenset[str]
    deferred_writes: frozenset[str]
    mutated_params: frozenset[str]
    user_calls: tuple[cst.Call, ...]

    @classmethod
    def of(cls, found: Found, literal: object) -> Facts:
        return cls(
            frozenset(found.defines), frozenset(found.reads), frozenset(found.calls), tuple(found.methods),
            frozenset(found.paths), frozenset(found.devices), frozenset(found.bases), tuple(found.made_by.items()),
            literal, frozenset(found.deferred_reads), frozenset(found.deferred_writes), frozenset(found.mutated_params),
            tuple(found.user_calls),
        )

    def given_to(self, statement: Statement) -> Statement:
        """The statement with these facts (in sets of its own, which linking adds to)."""
        return replace(
            statement, defines=set(self.defines), reads=set(self.reads), calls=set(self.calls), methods=list(self.methods),
            paths=set(self.paths), devices=set(self.devices), bases=set(self.bases), made_by=dict(self.made_by),
            literal=self.literal,
        )


def collect_facts(statements: list[Statement]) -> tuple[list[Facts], list[Finding]]:
    """The facts of every statement, by index, and the findings of the analysis (star imports)."""
    segments = segments_of(statements)
    names = Names(GlobalBindings.of(segments))
    walk = Walk(statements)
    loops = LoopLocals()
    values = AssignedValues(walk, names)
    walk.attend([CallFacts(walk, names), values, Mutations(walk, names, values), UpdatedNames(walk, names),
                 ClassBases(walk, names), StringFacts(walk), loops])
    for segment in segments:
        names.enter(segment)
        segment.module.visit(walk)
    for segment in segments:
        for scope in segment.scopes():
            for assignment in scope.assignments:
                record_assignment(walk, assignment)
            for access in scope.accesses:
                record_access(walk, names, loops.local, access)
    facts = [Facts.of(found, literal_of(statement.node)) for found, statement in zip(walk.found, statements)]
    return facts, star_imports(statements)


def star_imports(statements: list[Statement]) -> list[Finding]:
    return [
        Finding(FindingKind.STAR_IMPORT, str(statement.origin), "names it binds are unknown to the analysis")
        for statement in statements
        if statement.kind == Kind.IMPORT and isinstance(import_statement(statement.node).names, cst.ImportStar)
    ]


class CallFacts:
    """What a statement calls: the qualified names of its calls, the calls of plain names (functions of the source,
    perhaps) and the (receiver, method) calls on variables."""

    def __init__(self, walk: Walk, names: Names) -> None:
        self.walk, self.names = walk, names

    def visit_Call(self, node: cst.Call) -> None:
        current = self.walk.current
        if current is None or self.walk.function_depth:
            return
        current.calls |= self.names.of_call(node)
        if isinstance(node.func, cst.Name):
            current.user_calls.append(node)
        elif isinstance(node.func, cst.Attribute):
            receiver = root_name(node.func.value)
            if receiver is not None:
                current.methods.append((receiver.value, node.func.attr.value))


class UpdatedNames:
    """Names a statement reads and binds at once: `n += 1` (in a function, of a `global n`), `del x`."""

    def __init__(self, walk: Walk, names: Names) -> None:
        self.walk, self.names = walk, names

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        current = self.walk.current
        if not isinstance(node.target, cst.Name) or current is None:
            return
        if not self.walk.function_depth:
            current.reads.add(node.target.value)
        elif self.names.is_global(node.target):  # `global n; n += 1` in a function reads the global n
            current.deferred_reads.add(node.target.value)

    def visit_Del(self, node: cst.Del) -> None:
        current = self.walk.current
        for target in elements(node.target):
            if isinstance(target, cst.Name) and not self.walk.function_depth and current is not None:
                current.defines.add(target.value)
                current.reads.add(target.value)


class ClassBases:
    """The qualified names of the bases of a top-level class (`torch.nn.Module`)."""

    def __init__(self, walk: Walk, names: Names) -> None:
        self.walk, self.names = walk, names

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.walk.current is not None and self.walk.starts(node):
            self.walk.current.bases = {name for base in node.bases for name in self.names.qualified_names(base.value)}


def names_a_file(value: str, calls: set[str]) -> bool:
    """A string a save or load call is given, other than an open() mode: a file, even named without a suffix."""
    return bool(calls & FILE_CALLS) and bool(value) and OPEN_MODE.fullmatch(value) is None and " " not in value


class StringFacts:
    """The paths (and, given to a folder call, folders) and the devices a statement names in string literals."""

    def __init__(self, walk: Walk) -> None:
        self.walk = walk

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        current = self.walk.current
        if current is None or self.walk.function_depth or not isinstance(value, str):
            return
        if looks_like_path(value) or current.calls & FOLDER_CALLS or names_a_file(value, current.calls):
            current.paths.add(value.rstrip("/"))
        if is_device(value):
            current.devices.add(value)


class LoopLocals:
    """A loop variable read in its own loop's body reads what the loop bound, not an earlier statement's value."""

    def __init__(self) -> None:
        self.targets: list[set[str]] = []
        self.local: set[int] = set()

    def visit_For_body(self, node: cst.For) -> None:
        self.targets.append({target.value for target in elements(node.target) if isinstance(target, cst.Name)})

    def leave_For_body(self, node: cst.For) -> None:
        self.targets.pop()

    def visit_Name(self, node: cst.Name) -> None:
        if any(node.value in targets for targets in self.targets):
            self.local.add(id(node))


def record_assignment(walk: Walk, assignment) -> None:
    if isinstance(assignment, BuiltinAssignment) or not isinstance(assignment.scope, GlobalScope):
        return
    found = walk.owner.get(id(assignment.node))
    if found is None:
        return
    name = assignment.name.partition(".")[0]  # `import a.b` binds `a`
    if id(assignment.node) in walk.deferred:
        found.deferred_writes.add(name)
    else:
        found.defines.add(name)


def record_access(walk: Walk, names: Names, loop_local: set[int], access) -> None:
    # `import os.path` is accessed as the attribute `os.path`: it reads `os`
    root = root_name(access.node) if isinstance(access.node, cst.Attribute) else access.node
    if not isinstance(root, cst.Name):
        return
    referents = [ref for ref in access.referents if not isinstance(ref, BuiltinAssignment)]
    if access.referents and not referents and root.value not in names.bindings.assignments:
        return  # a builtin, bound nowhere in the source
    if referents and not any(isinstance(ref.scope, GlobalScope) for ref in referents):
        return
    found = walk.owner.get(id(access.node))
    if found is None or id(root) in loop_local:
        return
    if id(access.node) in walk.deferred:
        found.deferred_reads.add(root.value)
    else:
        found.reads.add(root.value)
