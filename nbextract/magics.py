"""Stage 2: turn IPython magics and shell lines into Python with IPython's own transformers, then decide each one.

The output keeps every line where it was, so origins (cell, line) stay true: a dropped magic becomes a blank line.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from .document import Cell, Document

UNWRAPPED_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
DROPPED_LINE_MAGICS = {"matplotlib", "load_ext", "reload_ext", "unload_ext", "autoreload", "aimport", "config", "pylab"}
UNWRAPPED_LINE_MAGICS = {"time", "timeit", "prun"}
INSTALLERS = {"pip", "conda", "mamba"}


@dataclass(frozen=True)
class MagicDecision:
    """What happened to one magic: dropped, unwrapped, dependency, config or flagged."""

    cell: int
    line: int
    magic: str
    action: str
    detail: str = ""


@dataclass
class CodeCell:
    """A code cell as plain Python, line for line with the original cell."""

    cell: Cell
    code: str
    decisions: list[MagicDecision] = field(default_factory=list)


def normalise(document: Document) -> list[CodeCell]:
    return [normalise_cell(cell) for cell in document.code_cells]


def normalise_cell(cell: Cell) -> CodeCell:
    code, decisions = unwrap_cell_magic(cell)
    if "%" not in code and "!" not in code and "?" not in code:
        return CodeCell(cell, code, decisions)
    code = transform_lines(code)
    if "get_ipython()" not in code:
        return CodeCell(cell, code, decisions)
    try:
        module = cst.parse_module(code)
    except cst.ParserSyntaxError:
        return CodeCell(cell, code, decisions)
    lines = code.splitlines(keepends=True)
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(cst.metadata.PositionProvider)
    for statement in module.body:
        call = magic_call(statement)
        if call is None:
            continue
        span = positions[statement]
        decision, replacement = decide(cell, span.start.line, statement, call)
        decisions.append(decision)
        first, last = span.start.line - 1, span.end.line - 1
        lines[first : last + 1] = [replacement] + ["\n"] * (last - first)
    return CodeCell(cell, "".join(lines), decisions)


def unwrap_cell_magic(cell: Cell) -> tuple[str, list[MagicDecision]]:
    """`%%time` and friends keep their body; any other cell magic (%%bash, %%writefile...) drops the cell."""
    lines = cell.source.splitlines(keepends=True)
    if not lines or not lines[0].startswith("%%"):
        return cell.source, []
    name = lines[0][2:].split(maxsplit=1)[0] if lines[0][2:].strip() else ""
    if name in UNWRAPPED_CELL_MAGICS:
        return "\n" + "".join(lines[1:]), [MagicDecision(cell.number, 1, f"%%{name}", "unwrapped", "body kept")]
    blank = "\n" * len(lines)
    return blank, [MagicDecision(cell.number, 1, f"%%{name}", "flagged", "cell magic: cell not converted")]


def transform_lines(code: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    transformed = TransformerManager().transform_cell(code)
    return transformed if transformed.count("\n") == code.count("\n") + (not code.endswith("\n")) else code


MAGIC_CALL = m.Call(
    func=m.Attribute(
        value=m.Call(func=m.Name("get_ipython")),
        attr=m.Name("run_line_magic") | m.Name("system") | m.Name("getoutput"),
    )
)


def magic_call(statement: cst.CSTNode) -> cst.Call | None:
    """The `get_ipython().<magic>(...)` call of a one-line statement, as a bare expression or an assigned value."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
    return value if value is not None and m.matches(value, MAGIC_CALL) else None


def decide(cell: Cell, line: int, statement: cst.SimpleStatementLine, call: cst.Call) -> tuple[MagicDecision, str]:
    """One decision per magic, and the line of Python that replaces it (blank when dropped)."""
    kind = call.func.attr.value
    args = [literal_text(arg.value) for arg in call.args]
    if kind == "run_line_magic":
        name, rest = args[0], args[1] if len(args) > 1 else ""
    else:
        words = rest_words(args[0])
        name, rest = ("!" + words[0] if words else "!"), " ".join(words[1:])
    bare = name.lstrip("!")
    if bare in INSTALLERS and rest.split()[:1] == ["install"]:
        packages = [word for word in rest.split()[1:] if not word.startswith("-") and "://" not in word]
        return MagicDecision(cell.number, line, name, "dependency", " ".join(packages)), "\n"
    if kind == "run_line_magic" and name in DROPPED_LINE_MAGICS:
        return MagicDecision(cell.number, line, f"%{name}", "dropped", "notebook display setting"), "\n"
    if kind == "run_line_magic" and name == "env":
        variable = rest.replace("=", " ").split()[0] if rest.strip() else ""
        return MagicDecision(cell.number, line, "%env", "config", variable), "\n"
    if kind == "run_line_magic" and name in UNWRAPPED_LINE_MAGICS and rest.strip():
        try:
            body = cst.parse_expression(rest)
        except cst.ParserSyntaxError:
            return MagicDecision(cell.number, line, f"%{name}", "flagged", "could not parse its body"), "\n"
        unwrapped = statement.deep_replace(call, body)
        return MagicDecision(cell.number, line, f"%{name}", "unwrapped", "timing dropped"), code_of(unwrapped)
    shown = f"%{name}" if kind == "run_line_magic" else name
    return MagicDecision(cell.number, line, shown, "flagged", "IPython-only command: not converted"), "\n"


def literal_text(node: cst.BaseExpression) -> str:
    value = node.evaluated_value if isinstance(node, cst.SimpleString) else None
    return value if isinstance(value, str) else ""


def rest_words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def code_of(statement: cst.SimpleStatementLine) -> str:
    return cst.Module(body=[statement]).code
