"""Effects: receivers changed in place (`clf.fit(X)`, `df.x = ...`, `del d[k]`) rebind what they change, and whatever
shares state with it: an optimizer built from `model.parameters()` (and a scheduler built from the optimizer) changes
`model` when it steps, `loss.backward()` changes what `loss` was computed from (the model's grads), and changing the
variable of a loop (`for tree in forest: tree.fit(...)`) changes the collection it walks."""

from __future__ import annotations

from typing import cast

import libcst as cst
from libcst.metadata import GlobalScope, ImportAssignment

from ..knowledge import GRADIENT_METHODS, INPLACE_KEYWORD, OPTIMIZER_PREFIXES, PARAMETER_METHODS, PLOT_METHODS, PURE_METHODS
from .nodes import elements, maker_call, root_name
from .scopes import Names
from .walk import Found, Walk

Calls = list[tuple[cst.Call, set[str]]]
"""The calls of an assigned value, each with its qualified names."""


class AssignedValues:
    """What the names an assignment binds are made by (`made_by`: `MLP(4)` in `MLP(4).to(device)`), share state
    with (an optimizer, the model whose parameters it steps) and are computed from (for backward), read off the calls
    of the assigned value, met on the way through it."""

    def __init__(self, walk: Walk, names: Names) -> None:
        self.walk, self.names = walk, names
        self.values: list[Calls] = []
        self.sharing: dict[tuple[int, str], list[cst.Name]] = {}
        self.derived: dict[tuple[int, str], tuple[list[cst.Name], list[cst.Name]]] = {}

    def visit_Assign_value(self, node: cst.Assign) -> None:
        self.values.append([])

    def visit_Call(self, node: cst.Call) -> None:
        if self.walk.current is not None and self.values:
            self.values[-1].append((node, self.names.of_call(node)))

    def visit_For(self, node: cst.For) -> None:
        shared: dict[tuple[int, str], list[cst.Name]] = {}
        for target, collection in loop_elements(node.target, node.iter):
            shared.setdefault(self.names.binding_key(target), []).append(collection)
        self.sharing.update(shared)

    def leave_Assign_value(self, node: cst.Assign) -> None:
        calls = self.values.pop()
        current = self.walk.current
        if current is None:
            return
        sharing, derived = shared_with(calls), called_with(calls)
        maker = maker_call(node.value)
        made_by = sorted(next((names for call, names in calls if call is maker), set()))
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                key = self.names.binding_key(target.target)
                self.sharing[key] = sharing
                self.derived[key] = derived
                if made_by and not self.walk.function_depth:
                    current.made_by[target.target.value] = made_by[0]

    def computed_from(self, name: cst.Name) -> list[cst.Name]:
        """What the value of `name` was computed from: the models called for it, and the values passed to them,
        followed through the assignments that computed those values (not into how a model was built)."""
        found: list[cst.Name] = []
        seen: set[tuple[int, str]] = set()
        pending = [name]
        while pending:
            key = self.names.binding_key(pending.pop())
            if key in seen:
                continue
            seen.add(key)
            called, passed = self.derived.get(key, ([], []))
            found.extend(called + passed)
            pending.extend(passed)
        return [found_name for found_name in found if self.names.binding_key(found_name) != self.names.binding_key(name)]


class Mutations:
    """Receivers changed in place by a method not known to be pure or by assigning or deleting an attribute or item,
    and, through `loss.backward()`, what the loss was computed with."""

    def __init__(self, walk: Walk, names: Names, values: AssignedValues) -> None:
        self.walk, self.names, self.values = walk, names, values

    def visit_Call(self, node: cst.Call) -> None:
        if self.walk.current is None or not isinstance(node.func, cst.Attribute):
            return
        method = node.func.attr.value
        changed = root_name(node.func.value, through_new_objects=False)
        if changed is not None and mutates(method, node):
            self.mutated(changed)
        if changed is not None and method in GRADIENT_METHODS:
            for name in self.values.computed_from(changed):
                self.mutated(name, shared=True)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.assigned_target(node.target)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.assigned_target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.assigned_target(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        for target in elements(node.target):
            self.assigned_target(target)

    def assigned_target(self, target: cst.BaseExpression) -> None:
        for element in elements(target):
            if isinstance(element, (cst.Attribute, cst.Subscript)):
                receiver = root_name(element)
                if receiver is not None:
                    self.mutated(receiver)

    def mutated(self, name: cst.Name, shared: bool = False, seen: frozenset[tuple[int, str]] = frozenset()) -> None:
        """`name` is changed in place, and so is what shares state with it. A change made through something that
        shares state (`opt.step()` changing `model`) also reads the changed object's earlier state."""
        key = self.names.binding_key(name)
        if self.walk.current is None or key in seen:
            return
        for other in self.values.sharing.get(key, []):
            self.mutated(other, shared=True, seen=seen | {key})
        self.changed(name, shared)

    def changed(self, name: cst.Name, shared: bool) -> None:
        """Record the change of `name` where it is tracked: a global variable now, or, inside a function, when the
        function is called (a global it changes, a parameter it changes); a module (`np.random.seed`), a function or
        class of the source, or a local of a function is not tracked."""
        current = cast(Found, self.walk.current)  # a change is made inside a statement
        scope = self.names.scope(name)
        assignments = self.names.assignments_of(name)
        if assignments and all(isinstance(a.node, (cst.FunctionDef, cst.ClassDef)) for a in assignments):
            return
        if isinstance(scope, GlobalScope):
            if name.value not in self.names.imported:
                current.defines.add(name.value)
                if shared:
                    current.reads.add(name.value)
            return
        if any(isinstance(assignment, ImportAssignment) for assignment in assignments):
            return
        if any(isinstance(assignment.node, cst.Param) for assignment in assignments):
            current.mutated_params.add(name.value)
            return
        if assignments and not any(isinstance(assignment.scope, GlobalScope) for assignment in assignments):
            return
        if self.walk.function_depth:
            current.deferred_writes.add(name.value)
            if shared:
                current.deferred_reads.add(name.value)
        else:
            current.defines.add(name.value)
            if shared:
                current.reads.add(name.value)


def loop_elements(target: cst.BaseExpression, walked: cst.BaseExpression) -> list[tuple[cst.Name, cst.Name]]:
    """(loop variable, the collection whose element it is): `for tree in forest`, `for df in [train, test]`, and
    through `zip(forest, sets)`, `enumerate(forest)`, `models.items()` and `models.values()`."""
    if isinstance(walked, cst.Name):
        return [(name, walked) for name in target_names(target)]
    if isinstance(walked, (cst.List, cst.Tuple)):
        members = [element.value for element in walked.elements if isinstance(element.value, cst.Name)]
        return [(name, member) for name in target_names(target) for member in members]
    if not isinstance(walked, cst.Call):
        return []
    parts = target.elements if isinstance(target, (cst.Tuple, cst.List)) else []
    arguments = [arg.value for arg in walked.args if arg.keyword is None and arg.star == ""]
    function = walked.func
    if isinstance(function, cst.Name) and function.value == "zip" and len(parts) == len(arguments):
        return [pair for part, argument in zip(parts, arguments) for pair in loop_elements(part.value, argument)]
    if isinstance(function, cst.Name) and function.value == "enumerate" and len(parts) == 2 and arguments:
        return loop_elements(parts[1].value, arguments[0])
    if isinstance(function, cst.Attribute) and function.attr.value in ("items", "values"):
        value_target = parts[1].value if function.attr.value == "items" and len(parts) == 2 else target
        return loop_elements(value_target, function.value) if function.attr.value == "values" or parts else []
    return []


def target_names(target: cst.BaseExpression) -> list[cst.Name]:
    """The plain names a loop target binds (`tree`; `name, model`; `tree, (X_part, y_part)`)."""
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in target_names(element.value)]
    return []


def shared_with(calls: Calls) -> list[cst.Name]:
    """Among the calls of an assigned value (with their qualified names): `model` in `Adam(model.parameters())`;
    `opt` in `torch.optim.lr_scheduler.StepLR(opt)`."""
    shared = []
    for call, names in calls:
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in PARAMETER_METHODS:
            shared.append(root_name(call.func.value))
        elif any(name.startswith(OPTIMIZER_PREFIXES) for name in names):
            shared.extend(arg.value for arg in call.args if isinstance(arg.value, cst.Name) and arg.keyword is None)
    return [name for name in shared if name is not None]


def called_with(calls: Calls) -> tuple[list[cst.Name], list[cst.Name]]:
    """Among the calls of an assigned value: the variables called (`model(x)`, `criterion(out, y)`) and the variables
    passed to them, what a tensor computed by it may carry gradients back to. Arguments of methods (`x.to(device)`) are
    not."""
    called: list[cst.Name] = []
    passed: list[cst.Name] = []
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
