"""Stage 3: the statement-level dependency graph across cells.

A node per top-level statement (a def, class, loop or with block is one node). Facts come from libcst's ScopeProvider
(with its qualified names for calls); an ordered pass then links each read to the latest earlier statement that binds
the name.
Method calls not known to be pure, and assignments to `obj.attr` / `obj[k]`, count as rebinding `obj`, and whatever
shares state with `obj`: an optimizer built from `model.parameters()` (and a scheduler built from the optimizer) changes
`model` when it steps, and `loss.backward()` changes what `loss` was computed from (the model's grads).
"""

from __future__ import annotations

import ast
import bisect
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field

import libcst as cst
import networkx as nx
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    BaseAssignment,
    BuiltinAssignment,
    ExpressionContextProvider,
    GlobalScope,
    ImportAssignment,
    PositionProvider,
    QualifiedName,
    QualifiedNameSource,
    Scope,
    ScopeProvider,
)

from .document import Cell, Document, Origin
from .errors import ReadError
from .knowledge import (
    FOLDER_CALLS,
    GRADIENT_METHODS,
    INPLACE_KEYWORD,
    OPTIMIZER_PREFIXES,
    PARAMETER_METHODS,
    PLOT_METHODS,
    PURE_METHODS,
    SAVE_CALLS,
    SAVE_METHODS,
    is_device,
    looks_like_path,
)
from .magics import PARSE_ERRORS, CodeCell, MagicDecision
from .secrets import Secret, find_in, redact

NO_LITERAL = object()
SEGMENT = 64
"""Statements per scope analysis. libcst's ScopeProvider resolves each use of a name against every binding of that name
in its scope, so one module of a whole notebook that rebinds `df` hundreds of times costs the square of its length;
segments of this many statements keep it linear, and GlobalBindings answers for names bound in other segments."""
GLOBAL = 0


@dataclass
class Statement:
    """One top-level statement with what it binds and reads (global names only)."""

    index: int
    origin: Origin
    code: str
    kind: str
    tag: str | None
    node: cst.BaseStatement = field(repr=False)
    defines: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    methods: list[tuple[str, str]] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    body_reads: set[str] = field(default_factory=set)
    via_calls: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    secrets: list[Secret] = field(default_factory=list)
    devices: set[str] = field(default_factory=set)
    bases: set[str] = field(default_factory=set)
    made_by: dict[str, str] = field(default_factory=dict)
    literal: object = field(default=NO_LITERAL, repr=False)

    @property
    def shown_code(self) -> str:
        """The code with its secrets replaced by markers: the only form reports may show."""
        return redact(self.code, self.secrets)

    @property
    def label(self) -> str:
        code = self.shown_code
        lines = [line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]
        first = lines[0] if lines else ""
        return first if len(first) <= 48 else first[:45] + "..."


@dataclass(frozen=True)
class Finding:
    kind: str
    origin: str
    message: str


@dataclass
class StatementGraph:
    """Statements in execution order, and a DiGraph whose edge d -> s carries the names s reads from d."""

    document: Document
    statements: list[Statement]
    graph: nx.DiGraph
    magics: list[MagicDecision]
    skipped: list[Statement]
    findings: list[Finding]
    secrets: list[tuple[Origin, Secret]] = field(default_factory=list)
    broken: list[ReadError] = field(default_factory=list)

    def binder(self, index: int, name: str) -> int | None:
        """The latest statement before `index` that binds `name`."""
        for earlier in range(index - 1, -1, -1):
            if name in self.statements[earlier].defines:
                return earlier
        return None


def build(document: Document, cells: list[CodeCell]) -> StatementGraph:
    try:
        return build_graph(document, cells)
    except RecursionError:  # libcst's visitors recurse: `1 + 1 + ...` of a few hundred terms is too deep for them
        raise ReadError("code nested too deeply to analyse", path=document.path) from None


def build_graph(document: Document, cells: list[CodeCell]) -> StatementGraph:
    try:
        module, starts = parse_cells(document, cells)
        broken: list[ReadError] = []
    except ReadError:
        cells, broken = set_aside_broken_cells(document, cells)
        if not broken:
            raise
        module, starts = parse_cells(document, cells)
    statements, skipped = [], []
    for node, first, last, code in top_level_statements(module):
        cell_number = bisect.bisect_right(starts, first) - 1
        cell = cells[cell_number].cell
        offset = starts[cell_number]
        origin = document.origin(cell, first - offset + 1, last - offset + 1)
        statement = Statement(0, origin, code, kind_of(node), cell.stage_tag, node, secrets=find_in(node, code))
        (skipped if statement.tag == "skip" else statements).append(statement)
    for index, statement in enumerate(statements):
        statement.index = index
    facts, findings = collect_facts(statements)
    secrets = secret_places([*statements, *skipped])
    findings += [secret_finding(origin, secret) for origin, secret in secrets]
    graph = link(statements, facts)
    magics = [decision for cell in cells for decision in cell.decisions]
    findings += [Finding("syntax error", where(error), f"{error.message}; cell not converted") for error in broken]
    return StatementGraph(document, statements, graph, magics, skipped, findings, secrets, broken)


def secret_places(statements: list[Statement]) -> list[tuple[Origin, Secret]]:
    """Each secret with the line of the source that holds it."""
    places = []
    for statement in statements:
        leading = len(statement.node.leading_lines)
        for secret in statement.secrets:
            line = statement.origin.first_line + secret.line - 1 - leading
            places.append((Origin(statement.origin.cell, line, line), secret))
    return places


def secret_finding(origin: Origin, secret: Secret) -> Finding:
    """Kind, place and the environment variable that will hold it; never the value."""
    return Finding("secret", str(origin), f"{secret.kind}; the package reads it from ${secret.env}")


def parse_cells(document: Document, cells: list[CodeCell]) -> tuple[cst.Module, list[int]]:
    """All code cells as one module, with the 1-based line at which each cell starts."""
    starts, chunks, line = [], [], 1
    for cell in cells:
        code = cell.code if cell.code.endswith("\n") or not cell.code else cell.code + "\n"
        starts.append(line)
        chunks.append(code)
        line += code.count("\n")
    try:
        return cst.parse_module("".join(chunks)), starts
    except PARSE_ERRORS:
        raise syntax_error(document, cells) from None
    except RecursionError:
        raise ReadError("code nested too deeply to analyse", path=document.path) from None


def set_aside_broken_cells(document: Document, cells: list[CodeCell]) -> tuple[list[CodeCell], list[ReadError]]:
    """Cells that do not parse, blanked (line for line) and returned as errors, when the source has several cells:
    research notebooks often keep a broken scratch cell. The slicer fails only if the kept code needs one of them.
    A source of one cell that does not parse is an error at once."""
    if len(cells) < 2 or document.kind == "script":
        return cells, []
    kept, broken = [], []
    for cell in cells:
        error = cell_syntax_error(document, cell)
        if error is None:
            kept.append(cell)
        else:
            broken.append(error)
            kept.append(CodeCell(cell.cell, "\n" * cell.code.count("\n"), cell.decisions))
    return kept, broken


def where(error: ReadError) -> str:
    return str(Origin(error.cell, error.line or 1, error.line or 1))


def syntax_error(document: Document, cells: list[CodeCell]) -> ReadError:
    """The first cell that does not parse on its own, named by cell and line."""
    for cell in cells:
        error = cell_syntax_error(document, cell)
        if error is not None:
            return error
    return ReadError("syntax error across cells: a statement is split between two cells", path=document.path)


def cell_syntax_error(document: Document, cell: CodeCell) -> ReadError | None:
    """The syntax error of one cell, named by cell and line, or None when it parses."""
    try:
        cst.parse_module(cell.code)
    except PARSE_ERRORS as exc:
        line, message = getattr(exc, "raw_line", 1), getattr(exc, "message", str(exc))
        try:
            ast.parse(cell.code)
        except SyntaxError as python_error:  # names the offending line; libcst names the next token's
            line, message = python_error.lineno or line, python_error.msg or message
        except (ValueError, RecursionError, MemoryError):
            pass
        origin = document.origin(cell.cell, line, line)
        message = f"syntax error: {message.strip().splitlines()[0] if message.strip() else 'invalid syntax'}"
        return ReadError(message, path=document.path, cell=origin.cell, line=origin.first_line)
    except RecursionError:
        return ReadError("code nested too deeply to analyse", path=document.path, cell=cell.cell.number)
    return None


def top_level_statements(module: cst.Module) -> list[tuple[cst.BaseStatement, int, int, str]]:
    """Top-level statements with their first and last lines and code; a script's `main()` body is inlined where
    `main()` is called. Lines come from each statement's generated code (one codegen, no position pass), except
    inside `main()`, where PositionProvider gives them."""
    main = entry_point(module)
    positions = cst.MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider) if main else {}
    located = []
    line = 1 + len(module.header)
    for node in module.body:
        code = code_of(module, node)
        first, last = line + len(node.leading_lines), line + code.count("\n") - 1
        line += code.count("\n")
        if main is not None and node is main[0]:
            continue
        if main is not None and node is main[1]:
            for statement in guarded_statements(*main):
                span = positions[statement]
                located.append((statement, span.start.line, span.end.line, code_of(module, statement)))
            continue
        located.append((node, first, last, code))
    return located


def code_of(module: cst.Module, node: cst.BaseStatement) -> str:
    """A statement's code, indented as in the source."""
    return module.with_changes(body=[node], header=[], footer=[]).code


def guarded_statements(main: cst.FunctionDef, guard: cst.If) -> list[cst.BaseStatement]:
    """The statements of the `__main__` block, with main's body (less its returns) in place of the first call."""
    inlined = [statement for statement in main.body.body if not m_is_return(statement)]
    if not isinstance(guard.body, cst.IndentedBlock):
        return inlined
    statements: list[cst.BaseStatement] = []
    done = False
    for statement in guard.body.body:
        if not done and main.name.value in names_called(statement):
            statements.extend(inlined)
            done = True
        else:
            statements.append(statement)
    return statements


def entry_point(module: cst.Module) -> tuple[cst.FunctionDef, cst.If] | None:
    """`def main():` without parameters and the `if __name__ == "__main__":` block that calls it."""
    defs = {
        node.name.value: node
        for node in module.body
        if isinstance(node, cst.FunctionDef) and not takes_arguments(node)
    }
    for node in module.body:
        if isinstance(node, cst.If) and "__main__" in cst.Module(body=[]).code_for_node(node.test):
            called = {name for name in names_called(node) if name in defs}
            if len(called) == 1 and isinstance(defs[next(iter(called))].body, cst.IndentedBlock):
                return defs[called.pop()], node
    return None


def takes_arguments(function: cst.FunctionDef) -> bool:
    params = function.params
    return bool(params.params or params.posonly_params or params.kwonly_params) or isinstance(
        params.star_arg, cst.Param
    )


def names_called(node: cst.CSTNode) -> set[str]:
    collector = CallNames()
    node.visit(collector)
    return collector.names


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


def method_name(node: cst.BaseExpression) -> str | None:
    """`fit` in `clf.fit(...)`: the method a call on an attribute calls, or None."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value
    return None


class CallNames(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.names.add(node.func.value)


def m_is_return(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[-1], cst.Return)


def kind_of(node: cst.BaseStatement) -> str:
    if isinstance(node, cst.FunctionDef):
        return "def"
    if isinstance(node, cst.ClassDef):
        return "class"
    if not isinstance(node, cst.SimpleStatementLine):
        return "block"
    small = node.body[0]
    if isinstance(small, (cst.Import, cst.ImportFrom)):
        return "import"
    if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
        return "assign"
    if isinstance(small, cst.Expr):
        return "expr"
    return "other"


def literal_of(node: cst.BaseStatement) -> object:
    """The value of `NAME = <literal>`, or NO_LITERAL."""
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return NO_LITERAL
    small = node.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
        return NO_LITERAL
    try:
        return ast.literal_eval(cst.Module(body=[]).code_for_node(small.value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return NO_LITERAL


@dataclass
class Facts:
    """What one statement does, before reaching definitions are known."""

    deferred_reads: set[str] = field(default_factory=set)
    deferred_writes: set[str] = field(default_factory=set)
    mutated_params: set[str] = field(default_factory=set)
    user_calls: list[cst.Call] = field(default_factory=list)


class FactsCollector(cst.CSTVisitor):
    """One pass over all statements: calls with qualified names, mutated receivers, and what is inside def bodies."""

    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, statements: list[Statement], bindings: GlobalBindings) -> None:
        super().__init__()
        self.bindings = bindings
        self.imported, self.variables = bindings.imported_and_variables()
        self.by_id = {id(statement.node): statement for statement in statements}
        self.current: Statement | None = None
        self.owner: dict[int, Statement] = {}
        self.deferred: set[int] = set()
        self.facts: dict[int, Facts] = {statement.index: Facts() for statement in statements}
        self.function_depth = 0
        self.bodies: set[int] = set()
        self.sharing: dict[tuple[int, str], list[cst.Name]] = {}
        self.loop_targets: list[set[str]] = []
        self.loop_local: set[int] = set()
        self.derived: dict[tuple[int, str], tuple[list[cst.Name], list[cst.Name]]] = {}
        self.value_calls: list[list[tuple[cst.Call, set[str]]]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self.by_id:
            self.current = self.by_id[id(node)]
        if id(node) in self.bodies:
            self.function_depth += 1
        if self.current is not None:
            self.owner[id(node)] = self.current
            if self.function_depth:
                self.deferred.add(id(node))
        if isinstance(node, cst.FunctionDef):
            self.bodies.add(id(node.body))
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if id(original_node) in self.bodies:
            self.function_depth -= 1
        super().on_leave(original_node)

    def visit_Call(self, node: cst.Call) -> None:
        if self.current is None:
            return
        names = self.call_names(node)
        if self.value_calls:
            self.value_calls[-1].append((node, names))
        if not self.function_depth:
            self.current.calls |= names
            if isinstance(node.func, cst.Name):
                self.facts[self.current.index].user_calls.append(node)
        if isinstance(node.func, cst.Attribute):
            receiver = root_name(node.func.value)
            method = node.func.attr.value
            if receiver is not None and not self.function_depth:
                self.current.methods.append((receiver.value, method))
            changed = root_name(node.func.value, through_new_objects=False)
            if changed is not None and mutates(method, node):
                self.mutated(changed)
            if changed is not None and method in GRADIENT_METHODS:
                for name in self.computed_from(changed):
                    self.mutated(name, shared=True)

    def visit_For_body(self, node: cst.For) -> None:
        self.loop_targets.append({target.value for target in elements(node.target) if isinstance(target, cst.Name)})

    def leave_For_body(self, node: cst.For) -> None:
        self.loop_targets.pop()

    def visit_Name(self, node: cst.Name) -> None:
        """A loop variable read in its own loop's body reads what the loop bound, not an earlier statement's value."""
        if any(node.value in targets for targets in self.loop_targets):
            self.loop_local.add(id(node))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.current is not None and node is self.current.node:
            self.current.bases = {name for base in node.bases for name in self.qualified_names(base.value)}

    def visit_Assign_value(self, node: cst.Assign) -> None:
        self.value_calls.append([])

    def leave_Assign_value(self, node: cst.Assign) -> None:
        """Remember what the bound names share state with (optimizers) and are computed from (for backward), from the
        calls of the assigned value, met on the way through it."""
        calls = self.value_calls.pop()
        if self.current is None:
            return
        sharing, derived = shared_with(calls), called_with(calls)
        maker = maker_call(node.value)
        made_by = sorted(next((names for call, names in calls if call is maker), set()))
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                key = self.binding_key(target.target)
                self.sharing[key] = sharing
                self.derived[key] = derived
                if made_by and not self.function_depth:
                    self.current.made_by[target.target.value] = made_by[0]

    def computed_from(self, name: cst.Name) -> list[cst.Name]:
        """What the value of `name` was computed from: the models called for it, and the values passed to them,
        followed through the assignments that computed those values (not into how a model was built)."""
        found: list[cst.Name] = []
        seen: set[tuple[int, str]] = set()
        pending = [name]
        while pending:
            key = self.binding_key(pending.pop())
            if key in seen:
                continue
            seen.add(key)
            called, passed = self.derived.get(key, ([], []))
            found.extend(called + passed)
            pending.extend(passed)
        return [found_name for found_name in found if self.binding_key(found_name) != self.binding_key(name)]

    def binding_key(self, name: cst.Name) -> tuple[int, str]:
        """The scope that binds `name` as seen from this use: GLOBAL for the source's globals (a global read in a
        function too, and a name bound nowhere, which Python looks up in the globals), else the id of its local scope."""
        assignments = self.assignments_of(name)
        if not assignments or isinstance(assignments[0].scope, GlobalScope):
            return GLOBAL, name.value
        return id(assignments[0].scope), name.value

    def assignments_of(self, name: cst.Name) -> list[BaseAssignment]:
        """The bindings `name` refers to where it is used: those of the function (class, comprehension) scope that binds
        it, else every global binding of the name in the whole source, whichever segment holds it."""
        scope = self.get_metadata(ScopeProvider, name, None)
        found = [a for a in scope[name.value] if not isinstance(a, BuiltinAssignment)] if scope is not None else []
        if found and not isinstance(found[0].scope, GlobalScope):
            return found
        return self.bindings.assignments.get(name.value, found)

    def qualified_names(self, node: cst.BaseExpression) -> set[str]:
        """Qualified names from the scope of this segment, or from the segments that bind the name when this one
        knows it only as a builtin or not at all."""
        scope = self.get_metadata(ScopeProvider, node, None)
        names = scope.get_qualified_names_for(node) if scope is not None else set()
        if all(qualified.source is QualifiedNameSource.BUILTIN for qualified in names):
            names = self.bindings.qualified_names(node) or names
        return {qualified.name.removeprefix("builtins.") for qualified in names}

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if self.current is None or self.function_depth or not isinstance(value, str):
            return
        if looks_like_path(value) or self.current.calls & FOLDER_CALLS:
            self.current.paths.add(value.rstrip("/"))
        if is_device(value):
            self.current.devices.add(value)

    def call_names(self, node: cst.Call) -> set[str]:
        """Qualified names of a call on an imported name or a builtin (`pandas.read_csv` however pandas was imported).

        They come from the scope's own `get_qualified_names_for`, the machinery behind QualifiedNameProvider, asked only
        about these calls: the provider resolves every name of the module eagerly, scanning all assignments of each
        name at each use, which made analysis grow quadratically in notebooks that rebind `df` hundreds of times.
        Calls on variables are kept as (receiver, method) instead.
        """
        root = root_name(node.func)
        if root is not None and root.value in self.variables and root.value not in self.imported:
            return {root.value} if isinstance(node.func, cst.Name) else set()
        return self.qualified_names(node.func)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.assigned_target(node.target)
        if not isinstance(node.target, cst.Name) or self.current is None:
            return
        if not self.function_depth:
            self.current.reads.add(node.target.value)
        elif self.is_global(node.target):  # `global n; n += 1` in a function reads the global n
            self.facts[self.current.index].deferred_reads.add(node.target.value)

    def is_global(self, name: cst.Name) -> bool:
        return any(isinstance(assignment.scope, GlobalScope) for assignment in self.assignments_of(name))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.assigned_target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.assigned_target(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        for target in elements(node.target):
            if isinstance(target, cst.Name) and not self.function_depth and self.current is not None:
                self.current.defines.add(target.value)
                self.current.reads.add(target.value)
            else:
                self.assigned_target(target)

    def assigned_target(self, target: cst.BaseExpression) -> None:
        for element in elements(target):
            if isinstance(element, (cst.Attribute, cst.Subscript)):
                receiver = root_name(element)
                if receiver is not None:
                    self.mutated(receiver)

    def mutated(self, name: cst.Name, shared: bool = False, seen: frozenset[tuple[int, str]] = frozenset()) -> None:
        """`name` is changed in place, and so is what shares state with it; a module (`np.random.seed`), a function
        or class of the source, or a local of a function is not tracked. A change made through something that
        shares state (`opt.step()` changing `model`) also reads the changed object's earlier state."""
        key = self.binding_key(name)
        if self.current is None or key in seen:
            return
        for other in self.sharing.get(key, []):
            self.mutated(other, shared=True, seen=seen | {key})
        scope = self.get_metadata(ScopeProvider, name, None)
        assignments = self.assignments_of(name)
        if assignments and all(isinstance(a.node, (cst.FunctionDef, cst.ClassDef)) for a in assignments):
            return
        if isinstance(scope, GlobalScope):
            if name.value not in self.imported:
                self.current.defines.add(name.value)
                if shared:
                    self.current.reads.add(name.value)
            return
        if any(isinstance(assignment, ImportAssignment) for assignment in assignments):
            return
        if any(isinstance(assignment.node, cst.Param) for assignment in assignments):
            self.facts[self.current.index].mutated_params.add(name.value)
            return
        if assignments and not any(isinstance(assignment.scope, GlobalScope) for assignment in assignments):
            return
        if self.function_depth:
            self.facts[self.current.index].deferred_writes.add(name.value)
            if shared:
                self.facts[self.current.index].deferred_reads.add(name.value)
        else:
            self.current.defines.add(name.value)
            if shared:
                self.current.reads.add(name.value)


def elements(target: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [item for element in target.elements for item in elements(element.value)]
    return [target]


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


def maker_call(value: cst.BaseExpression) -> cst.Call | None:
    """The call that makes a value, through the methods chained on its result: `MLP(4)` in `MLP(4).to(device)`,
    `torch.load(p)` in `torch.load(p).eval()`."""
    if not isinstance(value, cst.Call):
        return None
    while isinstance(value.func, cst.Attribute) and isinstance(value.func.value, cst.Call):
        value = value.func.value
    return value


def shared_with(calls: list[tuple[cst.Call, set[str]]]) -> list[cst.Name]:
    """Among the calls of an assigned value (with their qualified names): `model` in `Adam(model.parameters())`;
    `opt` in `torch.optim.lr_scheduler.StepLR(opt)`."""
    shared = []
    for call, names in calls:
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in PARAMETER_METHODS:
            shared.append(root_name(call.func.value))
        elif any(name.startswith(OPTIMIZER_PREFIXES) for name in names):
            shared.extend(arg.value for arg in call.args if isinstance(arg.value, cst.Name) and arg.keyword is None)
    return [name for name in shared if name is not None]


def called_with(calls: list[tuple[cst.Call, set[str]]]) -> tuple[list[cst.Name], list[cst.Name]]:
    """Among the calls of an assigned value: the variables called (`model(x)`, `criterion(out, y)`) and the variables
    passed to them, what a tensor computed by it may carry gradients back to. Arguments of methods (`x.to(device)`) are
    not."""
    called, passed = [], []
    for call, _ in calls:
        if isinstance(call.func, cst.Name):
            called.append(call.func)
            passed.extend(arg.value for arg in call.args if isinstance(arg.value, cst.Name))
    return called, passed


def mutates(method: str, call: cst.Call) -> bool:
    inplace = any(
        arg.keyword is not None and arg.keyword.value == INPLACE_KEYWORD and not is_false(arg.value) for arg in call.args
    )
    return inplace or (method not in PURE_METHODS and method not in PLOT_METHODS)


def is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def collect_facts(statements: list[Statement]) -> tuple[dict[int, Facts], list[Finding]]:
    """Fill defines, reads and calls of every statement; return the deferred facts and findings (star imports)."""
    segments = [Segment.of(statements[start : start + SEGMENT]) for start in range(0, len(statements), SEGMENT)]
    collector = FactsCollector(statements, GlobalBindings.of(segments))
    for segment in segments:
        segment.wrapper.visit(collector)
    findings = []
    for segment in segments:
        for scope in segment.scopes():
            for assignment in scope.assignments:
                record_assignment(collector, assignment)
            for access in scope.accesses:
                record_access(collector, access)
    for statement in statements:
        statement.literal = literal_of(statement.node)
        if statement.kind == "import" and isinstance(statement.node.body[0].names, cst.ImportStar):
            findings.append(Finding("star import", str(statement.origin), "names it binds are unknown to the analysis"))
    return collector.facts, findings


@dataclass
class Segment:
    """Consecutive statements analysed as one module by libcst's ScopeProvider."""

    wrapper: cst.MetadataWrapper
    scope_of: Mapping[cst.CSTNode, Scope | None]

    @classmethod
    def of(cls, statements: list[Statement]) -> Segment:
        module = cst.Module(body=[statement.node for statement in statements])
        wrapper = ModuleLevelWrapper(module, unsafe_skip_copy=True)
        return cls(wrapper, wrapper.resolve(ScopeProvider))

    @property
    def global_scope(self) -> GlobalScope:
        return self.scope_of[self.wrapper.module]

    def scopes(self) -> set[Scope]:
        return {scope for scope in self.scope_of.values() if scope is not None}


MODULE_LEVEL_PROVIDERS = (ScopeProvider, ExpressionContextProvider)
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

    assignments: dict[str, list[BaseAssignment]]
    importers: dict[str, list[GlobalScope]]

    @classmethod
    def of(cls, segments: list[Segment]) -> GlobalBindings:
        assignments: dict[str, list[BaseAssignment]] = {}
        importers: dict[str, list[GlobalScope]] = {}
        for segment in segments:
            for assignment in segment.global_scope.assignments:
                if isinstance(assignment, BuiltinAssignment):
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


def record_assignment(collector: FactsCollector, assignment) -> None:
    if isinstance(assignment, BuiltinAssignment) or not isinstance(assignment.scope, GlobalScope):
        return
    statement = collector.owner.get(id(assignment.node))
    if statement is None:
        return
    name = assignment.name.partition(".")[0]  # `import a.b` binds `a`
    if id(assignment.node) in collector.deferred:
        collector.facts[statement.index].deferred_writes.add(name)
    else:
        statement.defines.add(name)


def record_access(collector: FactsCollector, access) -> None:
    # `import os.path` is accessed as the attribute `os.path`: it reads `os`
    root = root_name(access.node) if isinstance(access.node, cst.Attribute) else access.node
    if not isinstance(root, cst.Name):
        return
    referents = [ref for ref in access.referents if not isinstance(ref, BuiltinAssignment)]
    if access.referents and not referents and root.value not in collector.bindings.assignments:
        return  # a builtin, bound nowhere in the source
    if referents and not any(isinstance(ref.scope, GlobalScope) for ref in referents):
        return
    statement = collector.owner.get(id(access.node))
    if statement is None or id(root) in collector.loop_local:
        return
    name = root.value
    if id(access.node) in collector.deferred:
        collector.facts[statement.index].deferred_reads.add(name)
    else:
        statement.reads.add(name)


def link(statements: list[Statement], facts: dict[int, Facts]) -> nx.DiGraph:
    """Edges from the latest earlier binder of each name read; calls pull in what the called function reads/writes."""
    graph = nx.DiGraph()
    latest: dict[str, int] = {}
    for statement in statements:
        graph.add_node(statement.index, origin=str(statement.origin), label=statement.label)
        statement.body_reads = set(facts[statement.index].deferred_reads)
        statement.defines |= called_writes(statement, facts, statements, latest)
        for name in sorted(statement.reads):
            binder = latest.get(name)
            if binder is None:
                continue
            statement.sources[name] = binder
            if graph.has_edge(binder, statement.index):
                graph.edges[binder, statement.index]["names"].append(name)
            else:
                graph.add_edge(binder, statement.index, names=[name])
        for name in statement.defines:
            latest[name] = statement.index
    link_files(statements, graph)
    return graph


def link_files(statements: list[Statement], graph: nx.DiGraph) -> None:
    """Edges from a statement that saves to a path to later statements naming the same path (`joblib.load(p)`).

    A path is named by a literal or by a variable bound to one. These edges carry `file <path>` and never enter
    `sources`: they order statements, they are not variables."""
    writers: dict[str, int] = {}
    for statement in statements:
        paths = named_paths(statement, statements)
        for path in sorted(paths):
            for writer in {writers[folder] for folder in (path, *parent_folders(path)) if folder in writers}:
                if writer == statement.index:
                    continue
                label = f"file {path}"
                if graph.has_edge(writer, statement.index):
                    graph.edges[writer, statement.index]["names"].append(label)
                else:
                    graph.add_edge(writer, statement.index, names=[label])
        if statement.calls & (SAVE_CALLS | FOLDER_CALLS) or any(method in SAVE_METHODS for _, method in statement.methods):
            writers.update({path: statement.index for path in paths})


def named_paths(statement: Statement, statements: list[Statement]) -> set[str]:
    """Paths a statement names: its own path literals, and string literals bound to the variables it reads."""
    folders = bool(statement.calls & FOLDER_CALLS)
    bound = [statements[binder].literal for binder in statement.sources.values()]
    return statement.paths | {
        value.rstrip("/") for value in bound if isinstance(value, str) and (folders or looks_like_path(value))
    }


def parent_folders(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)]


def called_writes(
    statement: Statement, facts: dict[int, Facts], statements: list[Statement], latest: dict[str, int]
) -> set[str]:
    """Reading a function defined in the source reads what its body reads (transitively) and binds what it writes;
    names passed to such a function may be changed by it."""
    writes: set[str] = set()
    seen: set[int] = set()
    pending = sorted(statement.reads)
    while pending:
        binder = latest.get(pending.pop())
        if binder is None or binder in seen or statements[binder].kind not in ("def", "class"):
            continue
        seen.add(binder)
        body = facts[binder]
        new = body.deferred_reads - statement.reads
        statement.reads |= new
        statement.via_calls |= new
        pending.extend(new)
        writes |= body.deferred_writes
    for call in facts[statement.index].user_calls:
        binder = latest.get(call.func.value)
        if binder is not None and statements[binder].kind == "def":
            changed = facts[binder].mutated_params
            writes |= {arg for param, arg in arguments(statements[binder].node, call) if param in changed and arg in latest}
    return writes


def arguments(function: cst.FunctionDef, call: cst.Call) -> list[tuple[str, str]]:
    """(parameter, variable) pairs for the plain-name arguments of a call to `function`."""
    params = [param.name.value for param in (*function.params.posonly_params, *function.params.params)]
    pairs = []
    for position, arg in enumerate(call.args):
        if not isinstance(arg.value, cst.Name) or arg.star:
            continue
        if arg.keyword is not None:
            pairs.append((arg.keyword.value, arg.value.value))
        elif position < len(params):
            pairs.append((params[position], arg.value.value))
    return pairs
