"""The one conversion API the CLI and the Jupyter server extension call.

read -> normalise magics -> statement graph -> slice -> rewrite -> render -> format -> write atomically
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import context, format, graph, magics, read, render, rewrite, slice, write
from .options import Options


@dataclass(frozen=True)
class Result:
    output: Path
    manifest: dict


def convert(options: Options) -> Result:
    out = options.out_dir
    write.check_target(out, options.force)
    document = read.read(options.source)
    statements = graph.build(document, magics.normalise(document))
    planned = slice.plan(statements, options)
    code = rewrite.rewrite(planned)
    data = context.build(planned, code, options)
    files = format.format_files(render.render(data, options.template_dir))
    files["nbextract.json"] = json.dumps(data["manifest"], indent=2, default=str) + "\n"
    return Result(write.write_tree(files, out, options.force), data["manifest"])
