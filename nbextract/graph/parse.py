"""Parsing: all code cells as one module, huge cells refused before anything parses them, and cells that do not parse
set aside (research notebooks often keep a broken scratch cell)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst

from ..document import Document, Origin
from ..errors import ConversionError, ReadError
from ..magics import PARSE_ERRORS, CodeCell

MAX_ITEMS = 20_000
"""Items (commas outside strings and comments) one cell may hold. libcst's parser, its scope analysis and the facts
visitor walk every element of a literal: `x = [0, 1, ...]` of 30,000 numbers took 15 s to analyse, of 3.3 million
more than 10 minutes."""
STRINGS_AND_COMMENTS = re.compile(
    r"[rRbBuUfF]{0,2}(?:'{3}[\s\S]*?'{3}|\"{3}[\s\S]*?\"{3}|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\")|#[^\n]*"
)
"""What a cell's items are not counted in: string literals (with prefixes, triple-quoted or not) and comments."""


def refuse_huge_cells(document: Document) -> None:
    """A cell of more than MAX_ITEMS items (commas outside strings and comments: a literal of that many elements, or
    code that long) is refused at once, before anything parses it. Counting commas is all most cells cost."""
    for cell in document.code_cells:
        if cell.source.count(",") < MAX_ITEMS:
            continue
        lines = STRINGS_AND_COMMENTS.sub(lambda match: "\n" * match.group(0).count("\n"), cell.source).splitlines()
        items = sum(line.count(",") for line in lines)
        if items >= MAX_ITEMS:
            line = max(range(len(lines)), key=lambda number: lines[number].count(",")) + 1
            origin = document.origin(cell, line, line)
            raise ConversionError(
                f"{items:,} items in one cell, more than nbextract analyses ({MAX_ITEMS:,}); load data of that size from "
                "a file (np.load, pd.read_csv, json.load)",
                path=document.path, cell=origin.cell, line=origin.first_line,
            )


@dataclass(frozen=True)
class Parsed:
    """All code cells as one module, the text it was parsed from, the 1-based line at which each cell starts, the cells
    as parsed (those that do not parse blanked) and the errors of the cells set aside."""

    module: cst.Module
    source: str
    starts: list[int]
    cells: list[CodeCell]
    broken: list[ReadError]


def parse_cells(document: Document, cells: list[CodeCell], broken: list[ReadError]) -> Parsed:
    starts, chunks, line = [], [], 1
    for cell in cells:
        code = cell.code if cell.code.endswith("\n") or not cell.code else cell.code + "\n"
        starts.append(line)
        chunks.append(code)
        line += code.count("\n")
    source = "".join(chunks)
    try:
        return Parsed(cst.parse_module(source), source, starts, cells, broken)
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


def parsed(document: Document, cells: list[CodeCell]) -> Parsed:
    try:
        return parse_cells(document, cells, [])
    except ReadError:
        cells, broken = set_aside_broken_cells(document, cells)
        if not broken:
            raise
        return parse_cells(document, cells, broken)
