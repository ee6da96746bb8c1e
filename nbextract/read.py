"""Stage 1: read a notebook, a percent-format script, a sphinx-gallery script or a plain script into a Document."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import sys
import tokenize
from pathlib import Path

from .document import STAGES, Cell, Document
from .errors import ReadError

PERCENT_CELL = re.compile(r"^#\s?%%", re.MULTILINE)
SPHINX_BLOCK = re.compile(r"^#\s?#{20,}\s*$", re.MULTILINE)
MARKER = re.compile(r"^#\s*nbextract:\s*(\w+)\s*$")
SIZE_LIMIT = 64 * 2**20
JSON_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}
NOT_REGULAR = {stat.S_IFIFO: "a named pipe", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket"}


def read(path: str | Path) -> Document:
    """Read SOURCE into cells; raise ReadError (exit 2) naming the file when it cannot be read."""
    path = Path(path)
    raw = source_bytes(path)
    text = decoded(raw, path)
    kind = source_kind(path, text)
    cells = READERS[kind](text, str(path))
    return Document(str(path), kind, hashlib.sha256(raw).hexdigest(), cells)


def source_bytes(path: Path) -> bytes:
    """The bytes of a regular file (links followed) of at most SIZE_LIMIT bytes, read with that bound; a ReadError
    otherwise. Opened without blocking, so that a named pipe is refused instead of waited on."""
    try:
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as file:
            kind = stat.S_IFMT(os.fstat(file.fileno()).st_mode)
            if kind != stat.S_IFREG:
                what = NOT_REGULAR.get(kind, "not a file")
                raise ReadError(f"not a regular file ({what}); expected a notebook (.ipynb) or a script (.py)", path=str(path))
            raw = file.read(SIZE_LIMIT + 1)
            size = max(len(raw), os.fstat(file.fileno()).st_size)
    except FileNotFoundError:
        raise ReadError("no such file", path=str(path)) from None
    except IsADirectoryError:  # open() of a folder's descriptor
        raise ReadError("is a folder; expected a notebook (.ipynb) or a script (.py)", path=str(path)) from None
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if len(raw) > SIZE_LIMIT:
        raise ReadError(f"too large to read ({mebibytes(size)}; the limit is {mebibytes(SIZE_LIMIT)})", path=str(path))
    return raw


def mebibytes(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


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


def spare_iri_grammars() -> None:
    """Keep jsonschema, which nbformat imports, from compiling rfc3987-syntax's ~40 lark grammars (1.7 s of every
    conversion where JupyterLab's jupyter-events installed it) for an `iri` format check that nbformat's schemas never
    ask for. Only in a process that has not imported jsonschema yet: one that has (the Jupyter server) keeps its own."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None makes its import fail


def nbformat_cells(text: str, path: str) -> list:
    """nbformat reads, upgrades (nbformat 3 and older) and validates the notebook, or says why it cannot. The message
    never quotes the file: a cell, its source or its metadata may hold a secret."""
    spare_iri_grammars()
    import nbformat

    problem = structure_problem(text)
    if problem is not None:
        raise ReadError(problem, path=path)
    try:
        notebook = nbformat.convert(nbformat.reader.reads(text), 4)  # nbformat.reads would log the invalid cell
        nbformat.validate(notebook)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError):
        raise ReadError(f"not a valid notebook: {json_problem(text)}", path=path) from None
    except nbformat.ValidationError as exc:
        raise schema_error(exc, path) from None
    except Exception as exc:  # nbformat's upgraders fail in many ways (KeyError, UnboundLocalError...) on other JSON
        raise ReadError(f"not a notebook nbformat can read ({type(exc).__name__})", path=path) from None
    return notebook.cells


def structure_problem(text: str) -> str | None:
    """Why JSON text is no notebook at all (not an object, no nbformat version, a newer one), or None."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return f"not a notebook: the JSON is {JSON_KINDS[type(data)]}, not an object"
    version = data.get("nbformat")
    if not isinstance(version, int) or isinstance(version, bool):
        return "not a notebook: it has no integer 'nbformat' version"
    return f"not a notebook nbextract can read: nbformat {version} is newer than 4" if version > 4 else None


def json_problem(text: str) -> str:
    """Where the text stops being JSON, in json's words, which never quote it."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        return "not JSON nbextract can read (nested too deeply)"
    return "not JSON"


def schema_error(error, path: str) -> ReadError:
    """A schema error as the cell it is in (1-based, as cells are counted everywhere) and the field it is about, by
    the schema's names for them; where nbformat found no place, it is the notebook's structure."""
    place = list(error.absolute_path)
    cell = place[1] + 1 if place[:1] == ["cells"] and len(place) > 1 and isinstance(place[1], int) else None
    schema = list(error.absolute_schema_path)
    fields = [name for before, name in zip(schema, schema[1:]) if before == "properties"]
    if cell is not None and fields[:1] == ["cells"]:
        fields = fields[1:]
    subject = f"'{'.'.join(fields)}'" if fields else "it"
    return ReadError(f"not a valid notebook: {schema_problem(error, subject, cell)}", path=path, cell=cell)


def schema_problem(error, subject: str, cell: int | None) -> str:
    """What is wrong with `subject` ('source', 'metadata.tags' or it), from the schema rule it breaks."""
    rules = {error.validator, *(inner.validator for inner in error.context or ())}
    if error.validator == "type" or (error.validator in ("oneOf", "anyOf") and rules <= {"oneOf", "anyOf", "type"}):
        return f"{subject} has the wrong type"
    if error.validator in ("oneOf", "anyOf") and cell is not None and subject == "it":
        return "its cell_type or fields match no cell type (code, markdown, raw)"
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return f"{subject} lacks the required field {missing[0]!r}" if missing else f"{subject} lacks a required field"
    if error.validator == "additionalProperties":
        return f"{subject} has a field the format does not allow"
    if error.validator in ("enum", "const", "pattern"):
        return f"{subject} has a value the format does not allow"
    if isinstance(error.validator, str):
        return f"{subject} breaks the format's {error.validator!r} rule"
    return "nbformat cannot read its structure (a key is missing or of the wrong type)"


def read_jupytext(fmt: str):
    """A reader for one of jupytext's script formats."""

    def reader(text: str, path: str) -> list[Cell]:
        spare_iri_grammars()
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
    start = 0
    tag: tuple[str, ...] = ()
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
