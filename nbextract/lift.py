"""Codemod: hard-coded values of the training code move into config.toml.

`RANDOM_STATE = 42` becomes `RANDOM_STATE = project_settings.random_state`; `train_test_split(..., random_state=0)`
reads `project_settings.random_state`; `pd.read_csv("data/x.csv")` reads `project_settings.x_csv`, a path that
config.py resolves against the project. Each lifted value remembers where it was found.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from .graph import NO_LITERAL, Statement, StatementGraph
from .graph.nodes import TopLevel, visited
from .knowledge import FOLDER_CALLS, NAMED_DATASET_CALLS, PATH_SUFFIXES, SAVE_CALLS, SAVE_METHODS, looks_like_path

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
    """A lifted value; a path also says how training uses it: "reads", "writes", or "reads what training writes at
    <origin>" (the source saves a file and reads it back: a stand-in the real data must not be overwritten by)."""

    key: str
    value: object
    origin: str
    affects: str
    path: bool = False
    use: str = ""


class Lifter:
    """Lifts values statement by statement, giving each distinct value its own key."""

    def __init__(self, source_dir: Path, taken: set[str], graph: StatementGraph | None = None, train: frozenset[int] = frozenset()) -> None:
        self.source_dir = source_dir
        self.taken = set(taken)
        self.values: dict[tuple[str, str], Lifted] = {}
        self.graph = graph
        self.train = train
        self.beside: list[str] | None = None

    def key_for(self, bases: list[str], value: object, origin: str, affects: str, use: str = "") -> str:
        """The key of `value`: the first of `bases` (names from the source, most specific last) not taken, else the
        last numbered; a value met again keeps its key, but a path read and a path written never share one."""
        names = [key_name(base) for base in bases]
        for existing in self.values.values():
            if is_named(existing.key, names) and existing.value == value and existing.use == use:
                return existing.key
        key = next((name for name in names if name not in self.taken), None)
        number = 2
        while key is None or key in self.taken:
            key, number = f"{names[-1]}_{number}", number + 1
        self.taken.add(key)
        self.values[(key, repr(value))] = Lifted(key, value, origin, affects, bool(use), use)
        return key

    def path_use(self, statement: Statement, readers: list[Statement]) -> str:
        """How training uses a path `statement` names (`readers`: the statements reading the variable it binds)."""
        users = readers or [statement]
        if any(writes_file(user) for user in users):
            return "writes"
        writer = self.training_writer(users)
        return f"reads what training writes at {writer}" if writer else "reads"

    def training_writer(self, users: list[Statement]) -> str:
        """Where a training statement wrote the file one of `users` reads (the graph's `file` edges), if one did."""
        if self.graph is None:
            return ""
        for user in users:
            for writer, _, names in self.graph.graph.in_edges(user.index, data="names"):
                if writer in self.train and any(name.startswith("file ") for name in names):
                    return str(self.graph.statements[writer].origin)
        return ""

    def readers(self, statement: Statement) -> list[Statement]:
        if self.graph is None:
            return []
        return [self.graph.statements[reader] for reader in sorted(self.graph.graph.successors(statement.index)) if reader in self.train]

    def lift(self, node: TopLevel, statement: Statement) -> TopLevel:
        """The node with its values lifted; visited only when its code may hold one (most statements cannot). The code
        looked at is the source's: what the rewrites before lifting put in (environment reads, the run-time device)
        holds nothing to lift, and generating the code of every statement again costs."""
        code = statement.code
        if statement.literal is NO_LITERAL and not may_lift_argument(code) and not self.quotes_a_neighbour(code):
            return node
        return visited(node, LiftValues(self, statement))

    def is_data_path(self, text: str) -> bool:
        """A relative or absolute path that exists, or whose folder exists, where the source ran."""
        if not looks_like_path(text) or any(char in text for char in "*?{}"):
            return False
        path = self.source_dir / text
        return path.exists() or path.parent.is_dir()

    def quotes_a_neighbour(self, code: str) -> bool:
        """Code holding a quoted name of a file or folder beside the source."""
        return any(f'"{name}"' in code or f"'{name}'" in code for name in self.neighbours())

    def neighbours(self) -> list[str]:
        """Names of the files and folders beside the source (the first 1,000), read once."""
        if self.beside is None:
            try:
                self.beside = [entry.name for _, entry in zip(range(1000), os.scandir(self.source_dir))]
            except OSError:
                self.beside = []
        return self.beside

    def names_existing(self, text: str) -> bool:
        """A bare name of a file or folder beside the source (`MODEL_DIR = "tiny-sentiment"`,
        `pipeline(model="tiny-sentiment")`), a path though it has neither slash nor suffix."""
        if not text or len(text) > 255 or any(char in text for char in " \n\t*?{}:"):
            return False
        return (self.source_dir / text).exists()


def key_name(base: str) -> str:
    name = re.sub(r"\W+", "_", base).strip("_").lower() or "value"
    return f"v_{name}" if name[0].isdigit() else name


def is_named(key: str, names: list[str]) -> bool:
    """A key given from `names`: one of them, or the last numbered."""
    return key in names or re.fullmatch(rf"{re.escape(names[-1])}_\d+", key) is not None


def snake_case(name: str) -> str:
    """`RandomForestClassifier` -> `random_forest_classifier`; `train_test_split` stays."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def writes_file(statement: Statement) -> bool:
    """A statement that saves or creates a file or folder (`df.to_csv(p)`, `joblib.dump(m, p)`, `os.makedirs(p)`)."""
    saves = statement.calls & (SAVE_CALLS | FOLDER_CALLS)
    return bool(saves) or any(method in SAVE_METHODS for _, method in statement.methods)


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
        self.first_arguments: list[cst.Arg | None] = []

    def setting(self, key: str) -> cst.Attribute:
        return cst.Attribute(cst.Name(SETTINGS), cst.Name(key))

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        value = self.statement.literal
        if value is NO_LITERAL or not toml_scalar(value) or len(original_node.targets) != 1:
            return updated_node
        target = original_node.targets[0].target
        if not isinstance(target, cst.Name) or not isinstance(original_node.value, (cst.SimpleString, cst.Integer, cst.Float, cst.Name, cst.UnaryOperation)):
            return updated_node
        is_path = isinstance(value, str) and (self.lifter.is_data_path(value) or self.lifter.names_existing(value))
        use = self.lifter.path_use(self.statement, self.lifter.readers(self.statement)) if is_path else ""
        affects = f"training: {target.value}" + (" (a path, resolved against the project)" if is_path else "")
        key = self.lifter.key_for([target.value], value, str(self.statement.origin), affects, use)
        return updated_node.with_changes(value=self.setting(key))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node.func)
        self.first_arguments.append(node.args[0] if node.args else None)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        self.calls.pop()
        self.first_arguments.pop()
        return updated_node

    def call(self) -> str:
        """The code of the function the innermost call calls."""
        return EMPTY_MODULE.code_for_node(self.calls[-1])

    def call_name(self) -> str:
        """The last name of the function the innermost call calls, in snake case (`RandomForestClassifier(...)`:
        `random_forest_classifier`), which a keyword's key takes when the keyword alone is taken."""
        func = self.calls[-1]
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else "call"
        return snake_case(name)

    def names_a_dataset(self, arg: cst.Arg) -> bool:
        """The first argument of a call naming one of a library's data sets (`load_sample_image("china.jpg")`)."""
        called = self.call().rsplit(".", 1)[-1]
        known = any(name.rsplit(".", 1)[-1] == called for name in self.statement.calls & NAMED_DATASET_CALLS)
        return known and arg.keyword is None and self.first_arguments[-1] is arg

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        if not self.calls:
            return updated_node
        value = literal_value(original_node.value)
        if value is NO_LITERAL:
            return updated_node
        keyword = original_node.keyword.value if original_node.keyword is not None else None
        if keyword in LIFTED_KEYWORDS and toml_scalar(value):
            affects = LIFTED_KEYWORDS[keyword].format(call=self.call())
            key = self.lifter.key_for([keyword, f"{self.call_name()}_{keyword}"], value, str(self.statement.origin), affects)
            return updated_node.with_changes(value=self.setting(key))
        if isinstance(value, str) and self.names_a_dataset(original_node):
            return updated_node
        if isinstance(value, str) and (self.lifter.is_data_path(value) or self.lifter.names_existing(value)):
            stem = Path(value).name.replace(".", "_") or "path"
            use = self.lifter.path_use(self.statement, [])
            affects = f"file {'written' if use == 'writes' else 'read'} by {self.call()}"
            key = self.lifter.key_for([stem], value, str(self.statement.origin), affects, use)
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
