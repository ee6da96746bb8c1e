"""The worker process of one conversion (or analysis): `python -m nbextract.jupyter.worker`, started by the server in
the root folder with a lowered priority, so a long conversion neither blocks nor starves the server.

It reads one request (JSON) on stdin, checks its paths again against the root at the moment of use, and writes JSON
lines on stdout: `{"progress": [done, total, label]}` while it works, then `{"status": 200, "manifest": ...}` (or
`"variables"` for an analysis), or `{"status": 4xx/500, "message": one line, "log": for the server's log}`.
SIGTERM cancels it: the write in progress is rolled back as for Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from ..errors import NbextractError, UsageError
from ..options import Options
from ..vocabulary import Step
from .messages import error_status, internal_error, os_message, relative, shown_error
from .paths import Refused, conflict, inside_root, template_dir_inside

VARIABLES_LIMIT = 500


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what the conversion prints goes to the server's log, not into the protocol
    sys.stdout = sys.stderr
    signal.signal(signal.SIGTERM, cancelled)
    os.nice(5)
    request = json.loads(sys.stdin.read())

    def send(**message) -> None:
        channel.write(json.dumps(message, default=str) + "\n")
        channel.flush()

    try:
        send(**answer(request, send))
    except KeyboardInterrupt:
        sys.exit(1)


def cancelled(signum, frame) -> None:
    raise KeyboardInterrupt


def answer(request: dict, send) -> dict:
    root = Path(request.pop("root"))
    mode = request.pop("mode")
    try:
        return analysed(root, request) if mode == "analyze" else converted(root, request, send)
    except Refused as refusal:
        return {"status": refusal.status, "message": refusal.message}
    except OSError as error:
        return {"status": 400, "message": os_message(error, root)}
    except NbextractError as error:
        refused_write = isinstance(error, UsageError) and mode == "convert"
        clash = conflict(root / request["output"], request["force"], root) if refused_write else None
        return (
            {"status": 409, "message": clash}
            if clash
            else {"status": error_status(error), "message": shown_error(error, root)}
        )
    except Exception as error:  # a bug of ours: one line for the user, the traceback in the log on request
        shown, log = internal_error(error, request["path"])
        return {"status": 500, "message": shown, "log": log}


def converted(root: Path, request: dict, send) -> dict:
    """Convert with paths relative to the root (the worker runs in it), so the package records them that way."""
    from ..convert import convert

    source = inside_root(root, request["path"], "path")
    inside_root(root, request["output"], "output")
    options = Options(
        source=Path(relative(source, root)),
        output=Path(request["output"]),
        name=request["name"],
        input_var=request["input_var"],
        output_var=request["output_var"],
        execute=request["execute"],
        force=request["force"],
        template_dir=template_dir_inside(root, source),
        root=root,
    )
    steps = [step for step in Step if options.execute or step is not Step.EXECUTE]
    result = convert(
        options,
        progress=lambda done, total, label: send(progress=[done, total, label]),
        step=lambda step: send(progress=[steps.index(step) + 1, len(steps), str(step)]),
    )
    return {"status": 200, "manifest": result.manifest}


def analysed(root: Path, request: dict) -> dict:
    """The variables the source binds, each with where it is last bound: the candidates of the input and output."""
    from ..analyze import analyse
    from ..slice.boundaries import NOT_VARIABLES  # the kinds whose names the slice refuses as input or output

    source = inside_root(root, request["path"], "path")
    last: dict[str, str] = {}
    for statement in analyse(Path(relative(source, root))).statements:
        for name in sorted(statement.defines) if statement.kind not in NOT_VARIABLES else ():
            last.pop(name, None)
            last[name] = str(statement.origin)
    variables = [{"name": name, "origin": origin} for name, origin in last.items()]
    return {"status": 200, "variables": variables[-VARIABLES_LIMIT:]}


if __name__ == "__main__":
    main()
