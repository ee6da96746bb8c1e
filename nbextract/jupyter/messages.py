"""The one-line messages JupyterLab shows: paths relative to the root folder, no secret, nothing quoted of a file,
and worded for the dialog rather than the command line (the CLI keeps its own wording)."""

from __future__ import annotations

import dataclasses
import os
import re
import traceback
from pathlib import Path

from ..errors import NbextractError, ReadError, UsageError

# The command line's advice, as the dialog says it.
UI_WORDING = [
    (re.compile(r"; choose another with --name\b"), "; choose another package name"),
    (re.compile(r"; choose another with -o\b"), "; choose another output folder"),
    (re.compile(r"; pass --force to replace it"), "; choose another, or replace it"),
    (re.compile(r"\bor pass --output VAR\b"), "or choose the output variable under Input and output"),
    (re.compile(r"\bpass --input VAR naming\b"), "choose the input variable under Input and output, naming"),
    (re.compile(r"--(input|output) (\w+):"), r"\1 variable \2:"),
    (re.compile(r"--execute could not\b"), "running the notebook could not"),
    (re.compile(r"\bconvert without --execute\b"), "convert without running it"),
]


def ui_wording(text: str) -> str:
    for pattern, replacement in UI_WORDING:
        text = pattern.sub(replacement, text)
    return text


def error_status(error: NbextractError) -> int:
    """Bad options are the request's fault (400); anything else was read but cannot be converted (422)."""
    return 400 if isinstance(error, UsageError) else 422


def shown_error(error: NbextractError, root: Path) -> str:
    """The error as the user sees it in JupyterLab: naming its file relative to the root folder, in the dialog's
    words, and quoting none of the notebook a parser quoted in saying why it cannot be read."""
    path = relative(Path(error.path), root) if error.path else None
    message = unquoted(error.message) if isinstance(error, ReadError) else ui_wording(error.message)
    return str(dataclasses.replace(error, path=path, message=message))


QUOTED = re.compile(r"\{.*\}|\[.*\]|'[^']*'|\"[^\"]*\"")


def unquoted(text: str) -> str:
    """`text` with what it quotes of a file (a line, a cell as a dict) replaced by `…`."""
    return QUOTED.sub("…", text)


def os_message(error: OSError, root: Path) -> str:
    """The file system's refusal (a name too long, a read-only folder, a full disk), naming the file and why."""
    name = relative(Path(os.fsdecode(error.filename)), root) if isinstance(error.filename, (str, bytes)) else "a file"
    return f"{clipped(name)}: {error.strerror or type(error).__name__}"


def internal_error(error: Exception, source: str) -> tuple[str, str]:
    """(the one line the user sees, the log line) of a bug, redacted; with NBEXTRACT_DEBUG=1 the log has the
    traceback too."""
    shown = (
        f"{source}: internal error ({type(error).__name__}: {error}); nothing was written. Restart the server with "
        "NBEXTRACT_DEBUG=1 for the traceback in its log, and report it."
    )
    lines = [f"nbextract: internal error ({type(error).__name__}) converting {source}"]
    if os.environ.get("NBEXTRACT_DEBUG"):
        lines += traceback.format_exception(error)
    return redacted(shown), redacted("\n".join(lines))


def redacted(text: str) -> str:
    """`text` with any secret in it replaced, as in every message of nbextract's (libcst is imported only now)."""
    from ..secrets import redact

    return redact(text)


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def one_line(text: str) -> str:
    return " ".join(text.split())


def clipped(text: str, limit: int = 80) -> str:
    """`text`, cut to `limit` characters (a 5,000-character path fits no dialog)."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
