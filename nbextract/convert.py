"""The one conversion API the CLI and the Jupyter server extension call.

read -> normalise magics -> statement graph -> slice -> rewrite -> render -> format -> write atomically
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import bundle, context, execute, format, graph, magics, read, render, rewrite, slice, write
from .errors import ConversionError, ReadError
from .graph import StatementGraph
from .options import Options
from .process_wide import PAUSED_COLLECTOR
from .traversal import read_only_visits
from .vocabulary import Step


@dataclass(frozen=True)
class Result:
    output: Path
    manifest: dict


Progress = Callable[[int, int, str], None]
"""Called as progress(done, total, label) while --execute runs the source, once per cell."""
StepStarted = Callable[[Step], None]
"""Called with each step of the pipeline as it starts."""


def convert(options: Options, progress: Progress | None = None, step: StepStarted = lambda _: None) -> Result:
    try:
        with PAUSED_COLLECTOR.held(), read_only_visits():
            return converted(options, progress, step)
    except RecursionError:  # the graph walks trees without recursing through libcst's copies; the codemods do not
        raise ReadError("code nested too deeply to convert", path=str(options.source)) from None


def converted(options: Options, progress: Progress | None, step: StepStarted) -> Result:
    out = options.out_dir
    write.check_target(out, options.force)
    step(Step.READ)
    document = read.read(options.source)
    step(Step.GRAPH)
    statements = graph.build(document, magics.normalise(document))
    step(Step.SLICE)
    planned = slice.plan(statements, options)
    step(Step.REWRITE)
    code = rewrite.rewrite(planned)
    step(Step.RENDER)
    data = context.build(planned, code, options)
    files = project_files(data, options)
    refuse_leaks(files, statements)
    if options.execute:
        step(Step.EXECUTE)
        run = execute.run_source(planned, files, data["package"], out.absolute(), progress)
        data = context.with_run(data, run)
        files = {**project_files(data, options), **run.files}
        refuse_leaks(files, statements)
    step(Step.WRITE)
    return Result(write.write_tree(files, out, options.force, inside=options.root), data["manifest"])


def project_files(data: Mapping[str, Any], options: Options) -> dict[str, str | bytes]:
    """The rendered, formatted project with its manifest, and the training data that travels with it."""
    files: dict[str, str | bytes] = {**bundle.training_data(data["settings"], Path(options.source).parent)}
    files.update(format.format_files(render.render(data, options.template_dir), data["package"], render.runtime_texts()))
    files["nbextract.json"] = json.dumps(data["manifest"], indent=2, default=str) + "\n"
    return files


def refuse_leaks(files: dict[str, str | bytes], statements: StatementGraph) -> None:
    """The last line of defence: no secret, nor its last 8 characters, may reach any file of the project: neither one
    the package reads from the environment nor one in text that is not converted (markdown, shell lines, broken cells)."""
    for origin, secret in [*statements.secrets, *statements.unconverted_secrets]:
        pieces = {secret.value, secret.value[-8:]} if len(secret.value) >= 8 else {secret.value}
        as_bytes = {piece.encode() for piece in pieces}
        for path, content in files.items():
            if holds_any(content, pieces, as_bytes):
                raise ConversionError(
                    f"{article(secret.kind)} {secret.kind} ({origin}) would reach {path}; move it to the environment variable "
                    f"{secret.env} in the source, or tag its cell nbextract:skip",
                    path=statements.document.path,
                )


def holds_any(content: str | bytes, pieces: set[str], encoded: set[bytes]) -> bool:
    """Whether a file's text holds one of `pieces`, or its bytes one of `encoded` (the same pieces, encoded)."""
    if isinstance(content, str):
        return any(piece in content for piece in pieces)
    return any(piece in content for piece in encoded)


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"
