"""Stage 2: turn IPython magics and shell lines into Python with IPython's own transformers, then decide each one.

The output keeps every line where it was, so origins (cell, line) stay true: a dropped magic becomes a blank line.
"""

from __future__ import annotations

import ast
import re
import shlex
import tokenize
import warnings
from dataclasses import dataclass, field
from typing import TypeGuard, cast

import libcst as cst
from libcst.metadata import PositionProvider

from .document import Cell, Document
from .errors import ReadError
from .secrets import scan_literal
from .traversal import read_only_visits
from .vocabulary import Action

UNWRAPPED_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
DROPPED_LINE_MAGICS = {"matplotlib", "load_ext", "reload_ext", "unload_ext", "autoreload", "aimport", "config", "pylab"}
UNWRAPPED_LINE_MAGICS = {"time", "timeit", "prun"}
STATEMENT_LINE_MAGICS = {"time"}  # runs its statement in the user namespace: `%time x = f()` binds x
INSTALLERS = {"pip", "conda", "mamba"}
LIBCST_BRACKET_DEPTH = 1000  # libcst 1.x parses 1,000 nested brackets and crashes (stack overflow) before 2,000
# libcst raises CSTValidationError for an identifier its tokenizer accepts but Python does not (`\U0001138e`)
PARSE_ERRORS = (cst.ParserSyntaxError, cst.CSTValidationError)
# a line as Python and libcst count them; str.splitlines also splits at \x0c, \x1c, \u2028... inside a line
PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# pip and conda install options followed by a value that is not a package (`-r requirements.txt`, `-c conda-forge`)
OPTIONS_WITH_VALUE = frozenset(
    """
    -r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f --find-links -t --target
    --prefix --root --src --upgrade-strategy --platform --python-version --implementation --abi --no-binary
    --only-binary --trusted-host --proxy --cert --client-cert --cache-dir --log --timeout --retries --exists-action
    --progress-bar -C --config-settings --global-option --channel -n --name -p --file
    """.split()
)


@dataclass(frozen=True)
class MagicDecision:
    """What happened to one magic: dropped, unwrapped, dependency, config or flagged."""

    cell: int
    line: int
    magic: str
    action: Action
    detail: str = ""


@dataclass
class CodeCell:
    """A code cell as plain Python, line for line with the original cell."""

    cell: Cell
    code: str
    decisions: list[MagicDecision] = field(default_factory=list)


def normalise(document: Document) -> list[CodeCell]:
    with read_only_visits():  # positions of magics as deep as the statement graph analyses
        cells = [normalise_cell(cell) for cell in document.code_cells]
    for cell in cells:
        refuse_too_deep(document, cell)
    return cells


def refuse_too_deep(document: Document, cell: CodeCell) -> None:
    """Raise ReadError for a cell nested deeper than Python's own parser accepts: Python could not run it."""
    error = too_deep(cell.code)
    if isinstance(error, SyntaxError):
        origin = document.origin(cell.cell, error.lineno or 1, error.lineno or 1)
        raise ReadError(f"syntax error: {error.msg}", path=document.path, cell=origin.cell, line=origin.first_line)
    if error is not None:
        cell_number = None if document.kind == "script" else cell.cell.number
        raise ReadError("code nested too deeply to analyse", path=document.path, cell=cell_number)


def too_deep(code: str) -> Exception | None:
    """Python's parser's complaint when `code` is nested deeper than libcst's native parser survives (it overflows
    its stack and crashes the process), else None. Python refuses more than 200 nested brackets, and a few thousand
    nested operators; libcst parses up to about 1,000 brackets (the graph stage then reports them)."""
    try:
        compile(code, "<cell>", "exec", ast.PyCF_ONLY_AST)
    except SyntaxError as error:
        nested = "too many nested parentheses" in (error.msg or "")
        return error if nested and bracket_depth(code) > LIBCST_BRACKET_DEPTH else None
    except (RecursionError, MemoryError) as error:
        return error
    except ValueError:  # NUL bytes: the reader refuses them
        return None
    return None


def bracket_depth(code: str) -> int:
    """The deepest nesting of brackets in `code`, counting those in strings and comments too (an upper bound)."""
    depth = deepest = 0
    for char in code:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def normalise_cell(cell: Cell) -> CodeCell:
    code, decisions = unwrap_cell_magic(cell)
    if "%" not in code and "!" not in code and "?" not in code:
        return CodeCell(cell, code, decisions)
    code = transform_lines(code)
    if "get_ipython()" not in code or too_deep(code):
        return CodeCell(cell, code, decisions)
    try:
        module = cst.parse_module(code)
        positions = cst.MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    except (*PARSE_ERRORS, RecursionError):  # the graph stage reports what cannot be parsed or is too deep
        return CodeCell(cell, code, decisions)
    lines = PHYSICAL_LINE.findall(code)
    for statement in module.body:
        call = magic_call(statement)
        if call is None or not isinstance(statement, cst.SimpleStatementLine):
            continue
        span = positions[statement]
        decision, replacement = decide(cell, span.start.line, statement, call)
        decisions.append(decision)
        first, last = span.start.line - 1, span.end.line - 1
        lines[first : last + 1] = [replacement] + ["\n"] * (last - first)
    return CodeCell(cell, "".join(lines), decisions)


def unwrap_cell_magic(cell: Cell) -> tuple[str, list[MagicDecision]]:
    """`%%time` and friends keep their body; any other cell magic (%%bash, %%writefile...) drops the cell.
    Like IPython, blank lines may come before the `%%` line."""
    lines = PHYSICAL_LINE.findall(cell.source)
    start = next((number for number, line in enumerate(lines) if line.strip()), len(lines))
    if start == len(lines) or not lines[start].startswith("%%"):
        return cell.source, []
    name = lines[start][2:].split(maxsplit=1)[0] if lines[start][2:].strip() else ""
    if name in UNWRAPPED_CELL_MAGICS:
        body = "\n" * (start + 1) + "".join(lines[start + 1 :])
        return body, [MagicDecision(cell.number, start + 1, f"%%{name}", Action.UNWRAPPED, "body kept")]
    blank = "\n" * len(lines)
    return blank, [MagicDecision(cell.number, start + 1, f"%%{name}", Action.FLAGGED, "cell magic: cell not converted")]


def transform_lines(code: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    # IPython drops leading blank lines (a `%%time` line becomes one); keep them so lines stay where they were
    lines = PHYSICAL_LINE.findall(code)
    blank = next((number for number, line in enumerate(lines) if line.strip()), len(lines))
    head, body = "".join(lines[:blank]), "".join(lines[blank:])
    if not body:
        return code
    manager = TransformerManager()
    manager.token_transformers = [line_keeping(transformer) for transformer in manager.token_transformers]
    try:
        with warnings.catch_warnings():  # IPython warns of lines split at \u2028 and such; the count check below copes
            warnings.simplefilter("ignore", UserWarning)
            transformed = manager.transform_cell(body)
    except (SyntaxError, ValueError, RuntimeError, tokenize.TokenError):  # the parser then reports the error
        return code
    return head + transformed if transformed.count("\n") == body.count("\n") + (not body.endswith("\n")) else code


def line_keeping(transformer: type) -> type:
    """An IPython token transformer that leaves a blank line for each line it joins (`!pip install a \\` + `  b`)."""

    class LineKeeping(transformer):
        def transform(self, lines: list[str]) -> list[str]:
            new = super().transform(lines)
            joined = len(lines) - len(new)
            return new[: self.start_line + 1] + ["\n"] * joined + new[self.start_line + 1 :] if joined > 0 else new

    return LineKeeping


MAGIC_METHODS = frozenset({"run_line_magic", "system", "getoutput"})


def magic_call(statement: cst.CSTNode) -> cst.Call | None:
    """The `get_ipython().<magic>(...)` call of a one-line statement, as a bare expression or an assigned value."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
    return value if is_magic_call(value) and value.args else None


def is_magic_call(value: cst.BaseExpression | None) -> TypeGuard[cst.Call]:
    """`get_ipython().run_line_magic(...)`, `.system(...)` or `.getoutput(...)`, as IPython's transformers write them."""
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
        return False
    shell = value.func.value
    called = isinstance(shell, cst.Call) and isinstance(shell.func, cst.Name) and shell.func.value == "get_ipython"
    return called and value.func.attr.value in MAGIC_METHODS


def decide(cell: Cell, line: int, statement: cst.SimpleStatementLine, call: cst.Call) -> tuple[MagicDecision, str]:
    """One decision per magic, and the line of Python that replaces it (blank when dropped)."""
    kind = cast(cst.Attribute, call.func).attr.value  # is_magic_call
    args = [literal_text(arg.value) for arg in call.args]
    if kind == "run_line_magic":
        name, rest = args[0], args[1] if len(args) > 1 else ""
    else:
        words = rest_words(args[0])
        name, rest = ("!" + words[0] if words else "!"), " ".join(words[1:])
    bare = name.lstrip("!")
    shown = f"%{name}" if kind == "run_line_magic" else name
    if bare in INSTALLERS and rest.split()[:1] == ["install"]:
        packages = installed_packages(rest.split()[1:])
        return MagicDecision(cell.number, line, shown, Action.DEPENDENCY, " ".join(packages)), "\n"
    if kind == "run_line_magic" and name in DROPPED_LINE_MAGICS:
        return MagicDecision(cell.number, line, f"%{name}", Action.DROPPED, "notebook display setting"), "\n"
    if kind == "run_line_magic" and name == "env":
        variable, _, value = rest.replace("=", " ", 1).strip().partition(" ")
        action = Action.SECRET if scan_literal(value.strip(), variable, 1) else Action.CONFIG
        return MagicDecision(cell.number, line, "%env", action, variable), "\n"
    if kind == "run_line_magic" and name in UNWRAPPED_LINE_MAGICS and rest.strip():
        if too_deep(rest):
            return MagicDecision(cell.number, line, f"%{name}", Action.FLAGGED, "could not parse its body"), "\n"
        unwrapped: str | None
        try:
            unwrapped = code_of(cast(cst.SimpleStatementLine, statement.deep_replace(call, cst.parse_expression(rest))))
        except PARSE_ERRORS:
            unwrapped = timed_statement(statement, name, rest)
        except RecursionError:
            unwrapped = None
        if unwrapped is None:
            return MagicDecision(cell.number, line, f"%{name}", Action.FLAGGED, "could not parse its body"), "\n"
        return MagicDecision(cell.number, line, f"%{name}", Action.UNWRAPPED, "timing dropped"), unwrapped
    return MagicDecision(cell.number, line, shown, Action.FLAGGED, "IPython-only command: not converted"), "\n"


def timed_statement(statement: cst.SimpleStatementLine, name: str, rest: str) -> str | None:
    """`%time x = f()` on a line of its own: the one-line statement it runs, or None."""
    if name not in STATEMENT_LINE_MAGICS or not isinstance(statement.body[0], cst.Expr):
        return None
    try:
        code = code_of(cst.parse_statement(rest))
    except (*PARSE_ERRORS, RecursionError):
        return None
    return code if code.count("\n") == 1 else None


def installed_packages(words: list[str]) -> list[str]:
    """The packages of `pip install ...` words: not options, not the values options take, not URLs."""
    packages, skip_next = [], False
    for word in words:
        if skip_next:
            skip_next = False
        elif word.startswith("-"):
            skip_next = word in OPTIONS_WITH_VALUE
        elif "://" not in word:
            packages.append(word)
    return packages


def literal_text(node: cst.BaseExpression) -> str:
    value = node.evaluated_value if isinstance(node, cst.SimpleString) else None
    return value if isinstance(value, str) else ""


def rest_words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def code_of(statement: cst.SimpleStatementLine | cst.BaseCompoundStatement) -> str:
    """The statement's own line, without the comments and blank lines above it (they stay where they are)."""
    return cst.Module(body=[statement.with_changes(leading_lines=())]).code
