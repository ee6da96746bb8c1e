"""Stage 1: read a notebook, a percent-format script, a sphinx-gallery script or a plain script into a Document."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tokenize
from pathlib import Path

from .document import STAGES, Cell, Document
from .errors import ReadError

PERCENT_CELL = re.compile(r"^#\s?%%", re.MULTILINE)
SPHINX_BLOCK = re.compile(r"^#\s?#{20,}\s*$", re.MULTILINE)
MARKER = re.compile(r"^#\s*nbextract:\s*(\w+)\s*$")


def read(path: str | Path) -> Document:
    """Read SOURCE into cells; raise ReadError (exit 2) naming the file when it cannot be read."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReadError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise ReadError("is a folder; expected a notebook (.ipynb) or a script (.py)", path=str(path)) from None
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror}", path=str(path)) from None
    text = decoded(raw, path)
    kind = source_kind(path, text)
    cells = READERS[kind](text, str(path))
    return Document(str(path), kind, hashlib.sha256(raw).hexdigest(), cells)


def decoded(raw: bytes, path: Path) -> str:
    """UTF-8 text, or for a .py the encoding its `# -*- coding: NAME -*-` line declares (PEP 263), as Python reads it.
    Text holding NUL bytes is a binary file, which Python would not run either."""
    encoding = "utf-8-sig"
    if path.suffix == ".py":
        try:
            encoding = tokenize.detect_encoding(io.BytesIO(raw).readline)[0]
        except SyntaxError as exc:  # an unknown encoding, a cookie against a BOM, or undeclared non-UTF-8 (below)
            if "invalid or missing encoding declaration" not in str(exc):
                raise ReadError(f"bad encoding declaration: {exc}", path=str(path)) from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        what = "UTF-8" if encoding.startswith("utf-8") else f"{encoding} as declared"
        if b"\0" in raw:
            hint = "; it looks like a binary file"
        elif path.suffix == ".py":
            hint = "; save it as UTF-8 or declare its encoding (# -*- coding: latin-1 -*-)"
        else:
            hint = ""
        raise ReadError(f"not {what} text (byte {exc.start}){hint}", path=str(path)) from None
    if "\0" in text:
        raise ReadError("binary file (it holds NUL bytes); expected a notebook (.ipynb) or a script (.py)", path=str(path))
    return text


def source_kind(path: Path, text: str) -> str:
    """ipynb by extension; a .py is percent, sphinx or a plain script by its separators."""
    if path.suffix == ".ipynb":
        return "ipynb"
    if path.suffix != ".py":
        raise ReadError(f"unsupported file type {path.suffix or '(none)'!r}; expected .ipynb or .py", path=str(path))
    if PERCENT_CELL.search(text):
        return "percent"
    if SPHINX_BLOCK.search(text):
        return "sphinx"
    return "script"


def read_ipynb(text: str, path: str) -> list[Cell]:
    cells = plain_v4_cells(text)
    if cells is None:
        cells = nbformat_cells(text, path)
    return [
        tagged(Cell(number, joined(cell["source"]), cell["cell_type"], tuple(cell.get("metadata", {}).get("tags", ())), cell.get("id")))
        for number, cell in enumerate(cells, start=1)
    ]


def plain_v4_cells(text: str) -> list[dict] | None:
    """The cells of a well-formed nbformat-4 notebook, read with json alone; None for anything else, which nbformat
    then upgrades or rejects with its own message. Importing nbformat costs more than reading most notebooks: its
    jsonschema builds every format checker it finds installed (rfc3987-syntax compiles a grammar: over a second)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not (isinstance(data, dict) and data.get("nbformat") == 4 and isinstance(data.get("metadata"), dict)):
        return None
    cells = data.get("cells")
    return cells if isinstance(cells, list) and all(map(plain_cell, cells)) else None


def plain_cell(cell: object) -> bool:
    """A cell of a known type whose source is text or a list of lines, and whose tags, if any, are strings."""
    if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
        return False
    source, metadata = cell.get("source"), cell.get("metadata", {})
    if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(line, str) for line in source))):
        return False
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else None
    return isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)


def joined(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def nbformat_cells(text: str, path: str) -> list:
    """nbformat reads, upgrades (nbformat 3 and older) and validates the notebook, or says why it cannot."""
    import nbformat

    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise ReadError(f"not a valid notebook: {first_line(str(exc))}", path=path) from None
    except nbformat.ValidationError as exc:
        raise ReadError(f"not a valid notebook: {first_line(exc.message)}", path=path) from None
    except Exception as exc:  # nbformat's upgraders fail in many ways (KeyError, UnboundLocalError...) on other JSON
        raise ReadError(f"not a notebook: {first_line(str(exc))}", path=path) from None
    return notebook.cells


def read_jupytext(fmt: str):
    """A reader for one of jupytext's script formats."""

    def reader(text: str, path: str) -> list[Cell]:
        import jupytext

        try:
            notebook = jupytext.reads(text, fmt=fmt)
        except Exception as exc:  # jupytext raises many kinds; any of them means unreadable input
            raise ReadError(f"cannot read as {fmt}: {first_line(str(exc))}", path=path) from None
        cells = notebook.cells
        if fmt == "py:sphinx":
            cells = without_added_cell(cells)
        kept = [cell for cell in cells if cell.source.strip()]
        return [
            tagged(Cell(number, cell.source, cell.cell_type, tuple(cell.metadata.get("tags", ()))))
            for number, cell in enumerate(kept, start=1)
        ]

    return reader


def without_added_cell(cells: list) -> list:
    """jupytext's sphinx reader always adds a `%matplotlib inline` code cell, the first code cell, that is not in
    the file (a .py file cannot hold that line): drop it, even when the text mentions %matplotlib."""
    for position, cell in enumerate(cells):
        if cell.cell_type == "code":
            return cells[:position] + cells[position + 1 :] if cell.source == "%matplotlib inline" else cells
    return cells


def read_script(text: str, path: str) -> list[Cell]:
    """A plain script is one cell, split where a `# nbextract: <stage>` marker line starts a block."""
    cells: list[Cell] = []
    block: list[str] = []
    start, tag = 0, ()
    for number, line in enumerate(text.splitlines(keepends=True)):
        marker = MARKER.match(line.strip()) if not line[:1].isspace() else None
        if marker and marker.group(1) in STAGES:
            if "".join(block).strip():
                cells.append(Cell(len(cells) + 1, "".join(block), tags=tag, line_offset=start))
            block, start, tag = [], number + 1, (f"nbextract:{marker.group(1)}",)
            continue
        block.append(line)
    if "".join(block).strip() or not cells:
        cells.append(Cell(len(cells) + 1, "".join(block), tags=tag, line_offset=start))
    return cells


def tagged(cell: Cell) -> Cell:
    """Record a `# nbextract: <stage>` comment on the first line of a cell as the cell's tag."""
    first = cell.source.lstrip().split("\n", 1)[0].strip()
    marker = MARKER.match(first)
    if cell.kind == "code" and marker and marker.group(1) in STAGES:
        cell.tags = (*cell.tags, f"nbextract:{marker.group(1)}")
    return cell


def first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unknown error"


READERS = {
    "ipynb": read_ipynb,
    "percent": read_jupytext("py:percent"),
    "sphinx": read_jupytext("py:sphinx"),
    "script": read_script,
}
