"""Codemod: hard-coded values of the training code move into config.toml.

`RANDOM_STATE = 42` becomes `RANDOM_STATE = project_settings.random_state`; `train_test_split(..., random_state=0)`
reads `project_settings.random_state`; `pd.read_csv("data/x.csv")` reads `project_settings.x_csv`, a path that
config.py resolves against the project. Each lifted value remembers where it was found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from .graph import NO_LITERAL, Statement
from .knowledge import PATH_SUFFIXES, looks_like_path

LIFTED_KEYWORDS = {
    "random_state": "random seed of {call}; any integer, changing it changes the fitted model",
    "seed": "random seed of {call}; any integer, changing it changes the fitted model",
    "n_jobs": "parallel workers of {call}; -1 uses every core, 1 runs serially",
    "num_workers": "data loader workers of {call}; 0 loads in the main process, up to the number of cores",
    "batch_size": "batch size of {call}; larger is faster per row and needs more memory",
    "device": "device of {call}; auto, cpu, cuda, cuda:N or mps",
    "test_size": "share of the data held out by {call}; between 0 and 1 (0.1-0.3 is usual)",
}
SETTINGS = "project_settings"
EMPTY_MODULE = cst.Module(body=[])


@dataclass(frozen=True)
class Lifted:
    key: str
    value: object
    origin: str
    affects: str
    path: bool = False


class Lifter:
    """Lifts values statement by statement, giving each distinct value its own key."""

    def __init__(self, source_dir: Path, taken: set[str]) -> None:
        self.source_dir = source_dir
        self.taken = set(taken)
        self.values: dict[tuple[str, str], Lifted] = {}

    def key_for(self, base: str, value: object, origin: str, affects: str, path: bool = False) -> str:
        base = re.sub(r"\W+", "_", base).strip("_").lower() or "value"
        if base[0].isdigit():
            base = f"v_{base}"
        for existing in self.values.values():
            if existing.key.startswith(base) and existing.value == value and existing.path == path:
                return existing.key
        key, number = base, 2
        while key in self.taken:
            key, number = f"{base}_{number}", number + 1
        self.taken.add(key)
        self.values[(key, repr(value))] = Lifted(key, value, origin, affects, path)
        return key

    def lift(self, node: cst.BaseStatement, statement: Statement) -> cst.BaseStatement:
        """The node with its values lifted; visited only when its code may hold one (most statements cannot)."""
        if statement.literal is NO_LITERAL and not may_lift_argument(EMPTY_MODULE.code_for_node(node)):
            return node
        return node.visit(LiftValues(self, statement))

    def is_data_path(self, text: str) -> bool:
        """A relative or absolute path that exists, or whose folder exists, where the source ran."""
        if not looks_like_path(text) or any(char in text for char in "*?{}"):
            return False
        path = self.source_dir / text
        return path.exists() or path.parent.is_dir()


def may_lift_argument(code: str) -> bool:
    """False for code with no argument to lift: one names a keyword of LIFTED_KEYWORDS, or is a string naming a
    path, which has a slash or a known suffix in the code itself or is written with a backslash escape."""
    lowered = code.lower()
    return (
        any(keyword in code for keyword in LIFTED_KEYWORDS)
        or "/" in code
        or "\\" in code
        or any(suffix in lowered for suffix in PATH_SUFFIXES)
    )


class LiftValues(cst.CSTTransformer):
    def __init__(self, lifter: Lifter, statement: Statement) -> None:
        super().__init__()
        self.lifter = lifter
        self.statement = statement
        self.calls: list[cst.BaseExpression] = []

    def setting(self, key: str) -> cst.Attribute:
        return cst.Attribute(cst.Name(SETTINGS), cst.Name(key))

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        value = self.statement.literal
        if value is NO_LITERAL or not toml_scalar(value) or len(original_node.targets) != 1:
            return updated_node
        target = original_node.targets[0].target
        if not isinstance(target, cst.Name) or not isinstance(original_node.value, (cst.SimpleString, cst.Integer, cst.Float, cst.Name, cst.UnaryOperation)):
            return updated_node
        is_path = isinstance(value, str) and self.lifter.is_data_path(value)
        affects = f"training: {target.value}" + (" (a path, resolved against the project)" if is_path else "")
        key = self.lifter.key_for(target.value, value, str(self.statement.origin), affects, is_path)
        return updated_node.with_changes(value=self.setting(key))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node.func)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        self.calls.pop()
        return updated_node

    def call(self) -> str:
        """The code of the function the innermost call calls."""
        return EMPTY_MODULE.code_for_node(self.calls[-1])

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        if not self.calls:
            return updated_node
        value = literal_value(original_node.value)
        if value is NO_LITERAL:
            return updated_node
        keyword = original_node.keyword.value if original_node.keyword is not None else None
        if keyword in LIFTED_KEYWORDS and toml_scalar(value):
            affects = LIFTED_KEYWORDS[keyword].format(call=self.call())
            key = self.lifter.key_for(keyword, value, str(self.statement.origin), affects)
            return updated_node.with_changes(value=self.setting(key))
        if isinstance(value, str) and self.lifter.is_data_path(value):
            stem = Path(value).name.replace(".", "_") or "path"
            affects = f"file read or written by {self.call()}"
            key = self.lifter.key_for(stem, value, str(self.statement.origin), affects, True)
            return updated_node.with_changes(value=self.setting(key))
        return updated_node


def literal_value(node: cst.BaseExpression) -> object:
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.Float):
        return float(node.value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal_value(node.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else NO_LITERAL
    return NO_LITERAL


def toml_scalar(value: object) -> bool:
    return isinstance(value, (int, float, str)) and not isinstance(value, bool) or isinstance(value, bool)
