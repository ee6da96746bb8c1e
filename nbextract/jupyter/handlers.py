"""`POST /nbextract/convert`: validate the request, keep every path inside the server's root folder, run convert() in
a worker thread so the server keeps answering, and reply with JSON: the result, or one line saying what went wrong.

Status codes: 200 converted; 400 bad request (not JSON, missing or mistyped field, invalid package name, an output
folder that holds the notebook); 403 not logged in, not allowed to write, or a path outside the root folder; 404 no
such notebook; 409 the output exists and `force` is false (or it is a file); 422 the notebook was read but cannot be
converted (unreadable source, nothing to predict, a template that fails); 500 a bug of nbextract's (one line too).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from ..errors import NbextractError, UsageError
from ..options import Options

FIELDS = {"path": (str,), "name": (str, type(None)), "output": (str, type(None)), "force": (bool,)}

# One conversion at a time, off the event loop: conversions are CPU-bound and write into the root folder.
WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbextract-convert")


class Refused(Exception):
    """A request answered with `status` and a one-line `message` before any conversion starts."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True)
class ConvertRequest:
    path: str
    name: str | None = None
    output: str | None = None
    force: bool = False


@dataclasses.dataclass(frozen=True)
class Target:
    """A request resolved against the root folder: absolute, symlink-free paths that stay inside it."""

    source: Path
    out: Path
    name: str | None
    force: bool


class ConvertHandler(APIHandler):
    auth_resource = "contents"

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        root = Path(self.settings["server_root_dir"]).resolve()
        try:
            target = resolve_target(parse_request(self.request.body), root)
        except Refused as refusal:
            return self.reply(refusal.status, refusal.message)
        try:
            result = await asyncio.get_running_loop().run_in_executor(WORKER, run_conversion, target)
        except NbextractError as error:
            clash = conflict(target.out, target.force, root) if isinstance(error, UsageError) else None
            return (
                self.reply(409, clash) if clash else self.reply(error_status(error), str(relative_error(error, root)))
            )
        except Exception as error:  # a bug of ours: one line for the user, the traceback in the log on request
            self.log.error(
                "nbextract: internal error (%s) converting %s",
                type(error).__name__,
                target.source,
                exc_info=bool(os.environ.get("NBEXTRACT_DEBUG")),
            )
            return self.reply(
                500,
                f"{relative(target.source, root)}: internal error ({type(error).__name__}: {error}); nothing was written. "
                "Restart the server with NBEXTRACT_DEBUG=1 for the traceback in its log, and report it.",
            )
        self.log.info("nbextract: converted %s into %s", relative(target.source, root), relative(target.out, root))
        self.reply(
            200,
            output=relative(target.out, root),
            report=relative(target.out / "CONVERSION.md", root),
            manifest=result.manifest,
        )

    def reply(self, status: int, message: str | None = None, **body) -> None:
        """Finish with JSON: `{"message": one line}` for an error, the body's fields for a success."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": one_line(message)} if message is not None else body, default=str))


def parse_request(body: bytes) -> ConvertRequest:
    """The JSON body as a ConvertRequest; Refused(400) naming the first problem."""
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the request body must be a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise Refused(400, f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    if "path" not in data:
        raise Refused(400, "'path' (the notebook, relative to the server's root folder) is required")
    for field, types in FIELDS.items():
        if field in data and not isinstance(data[field], types):
            kind = "true or false" if types == (bool,) else "a string"
            raise Refused(400, f"{field!r} must be {kind}")
    return ConvertRequest(**data)


def resolve_target(request: ConvertRequest, root: Path) -> Target:
    """Check the request against the file system: 403 outside the root, 404 no notebook, 400 bad name, 409 conflict."""
    source = inside_root(root, request.path, "path")
    if not source.exists():
        raise Refused(404, f"{request.path}: no such notebook")
    if not source.is_file():
        raise Refused(400, f"{request.path}: not a notebook file")
    try:
        package = Options(source=source, name=request.name).package
    except UsageError as error:
        raise Refused(400, str(error)) from None
    out = inside_root(root, request.output, "output") if request.output is not None else source.parent / package
    if out == source or out in source.parents:
        raise Refused(400, f"{relative(out, root)}: the output folder would hold the notebook; choose a new folder")
    clash = conflict(out, request.force, root)
    if clash:
        raise Refused(409, clash)
    return Target(source, out, request.name, request.force)


def inside_root(root: Path, path: str, field: str) -> Path:
    """`path` (relative to the root, or absolute) resolved with its symlinks; Refused(403) when it leaves the root."""
    try:
        resolved = (root / path).resolve()
    except (OSError, ValueError, RuntimeError):
        raise Refused(400, f"{field} {path!r} is not a valid path") from None
    if resolved != root and root not in resolved.parents:
        raise Refused(403, f"{field} {path!r} is outside the server's root folder")
    return resolved


def run_conversion(target: Target):
    """Runs in the worker thread: the heavy modules are imported here, never on the event loop."""
    from ..convert import convert
    from ..scaffold import configured_template_dir

    options = Options(
        source=target.source,
        output=target.out,
        name=target.name,
        force=target.force,
        template_dir=configured_template_dir(target.source.parent),
    )
    return convert(options)


def conflict(out: Path, force: bool, root: Path) -> str | None:
    """Why `out` must not be written as it stands (409), in the dialog's words; None when it may be."""
    if out.exists() and not out.is_dir():
        return f"{relative(out, root)}: exists and is not a folder; choose another output folder"
    if out.exists() and not force:
        return f"{relative(out, root)}: output folder exists; choose another, or replace it (force)"
    return None


def error_status(error: NbextractError) -> int:
    """Bad options are the request's fault (400); anything else was read but cannot be converted (422)."""
    return 400 if isinstance(error, UsageError) else 422


def relative_error(error: NbextractError, root: Path) -> NbextractError:
    """The error naming its file relative to the root folder, as the user sees it in JupyterLab."""
    return dataclasses.replace(error, path=relative(Path(error.path), root)) if error.path else error


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def one_line(text: str) -> str:
    return " ".join(text.split())
