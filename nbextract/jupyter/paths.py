"""What a request names, checked against the server's root folder: every path resolved with its symlinks and refused
when it leaves the root (on arrival, and again in the worker at the moment of use)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import UsageError
from ..options import Options, tool_settings
from .messages import clipped, relative, ui_wording

FIELDS = {
    "path": (str,),
    "name": (str, type(None)),
    "output": (str, type(None)),
    "force": (bool,),
    "input_var": (str, type(None)),
    "output_var": (str, type(None)),
    "execute": (bool,),
}


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
    input_var: str | None = None
    output_var: str | None = None
    execute: bool = False


@dataclasses.dataclass(frozen=True)
class Target:
    """A request resolved against the root folder `root`: absolute, symlink-free paths that stay inside it."""

    root: Path
    source: Path
    out: Path
    request: ConvertRequest

    def worker_request(self) -> dict:
        """What the worker process is sent: the paths relative to the root, the options as given."""
        return {
            **dataclasses.asdict(self.request),
            "root": str(self.root),
            "path": relative(self.source, self.root),
            "output": relative(self.out, self.root),
        }


def parse_request(body: bytes, required: tuple[str, ...] = ("path",)) -> ConvertRequest:
    """The JSON body as a ConvertRequest; Refused(400) naming the first problem."""
    data = json_object(body)
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise Refused(400, f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    if "path" in required and "path" not in data:
        raise Refused(400, "'path' (the notebook, relative to the server's root folder) is required")
    for field, types in FIELDS.items():
        if field in data and not isinstance(data[field], types):
            kind = "true or false" if types == (bool,) else "a string"
            raise Refused(400, f"{field!r} must be {kind}")
    return ConvertRequest(**data)


def json_object(body: bytes) -> dict:
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the request body must be a JSON object")
    return data


def resolve_target(request: ConvertRequest, root: Path) -> Target:
    """Check the request against the file system: 403 outside the root, 404 no notebook, 400 bad name, 409 conflict."""
    source = source_of(request, root)
    out = out_of(request, root, source)
    clash = conflict(out, request.force, root)
    if clash:
        raise Refused(409, clash)
    return Target(root, source, out, request)


def source_of(request: ConvertRequest, root: Path) -> Path:
    source = inside_root(root, request.path, "path")
    if not source.exists():
        raise Refused(404, f"{request.path}: no such notebook")
    if not source.is_file():
        raise Refused(400, f"{request.path}: not a notebook file")
    return source


def package_of(request: ConvertRequest, source: Path) -> str:
    try:
        return Options(source=source, name=request.name).package
    except UsageError as error:
        raise Refused(400, ui_wording(str(error))) from None


def out_of(request: ConvertRequest, root: Path, source: Path) -> Path:
    """OUT, given or NAME beside the notebook; Refused(400) when it would hold the notebook."""
    package = package_of(request, source)
    out = inside_root(root, request.output, "output") if request.output is not None else source.parent / package
    if out == source or out in source.parents:
        raise Refused(400, f"{relative(out, root)}: the output folder would hold the notebook; choose a new folder")
    return out


def inside_root(root: Path, path: str, field: str) -> Path:
    """`path` (relative to the root, or absolute) resolved with its symlinks; Refused(403) when it leaves the root."""
    try:
        resolved = (root / path).resolve()
    except (OSError, ValueError, RuntimeError):
        raise Refused(400, f"{field} {clipped(path)!r} is not a valid path") from None
    if not is_inside(resolved, root):
        raise Refused(403, f"{field} {clipped(path)!r} is outside the server's root folder")
    return resolved


def is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def template_dir_inside(root: Path, source: Path) -> Path | None:
    """`[tool.nbextract] template-dir` for `source`, honoured only when both the pyproject.toml that sets it and the
    folder it names (links resolved) are inside the root; Refused(403) otherwise. The value itself is never shown."""
    from ..scaffold import configured_template_dir

    folder, settings = tool_settings(source.parent)
    if folder is None or "template-dir" not in settings:
        return None
    if not is_inside(folder, root):
        raise Refused(
            403,
            "[tool.nbextract] template-dir is set in a pyproject.toml outside the server's root folder; templates are "
            "taken from inside the root only: set it in a pyproject.toml inside the root, or start the server in the "
            "folder of that pyproject.toml",
        )
    template_dir = configured_template_dir(source.parent)
    if template_dir is not None and not is_inside(template_dir, root):
        raise Refused(
            403,
            f"{relative(folder / 'pyproject.toml', root)}: [tool.nbextract] template-dir names a folder outside the "
            "server's root folder; templates are taken from inside the root only",
        )
    return template_dir


def conflict(out: Path, force: bool, root: Path) -> str | None:
    """Why `out` must not be written as it stands (409), in the dialog's words; None when it may be."""
    if out.exists() and not out.is_dir():
        return f"{relative(out, root)}: exists and is not a folder; choose another output folder"
    if out.exists() and not force:
        return f"{relative(out, root)}: output folder exists; choose another, or replace it"
    return None
