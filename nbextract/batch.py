"""Batch conversion: many sources (files and folders) converted one by one or in worker processes, each to its own
package, the batch going on after a failure. The CLI only draws progress and prints the outcomes.

What a folder holds, recursively: its `.ipynb` notebooks and its percent-format scripts (`.py` with `# %%` cells).
Plain `.py` files in a folder are modules, tests and setup scripts far more often than monolithic ML scripts, so they
are left out; name such a script on the command line to convert it. Never entered: hidden folders (`.git`,
`.ipynb_checkpoints`...), `__pycache__`, `node_modules`, `site-packages`, and virtual or conda environments (a folder
holding `pyvenv.cfg` or `conda-meta`). Hidden files are skipped too.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import write
from .errors import NbextractError, ReadError, UsageError
from .options import Options, default_name
from .read import PERCENT_CELL, source_bytes

SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "site-packages"})
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")


@dataclass(frozen=True)
class Outcome:
    """What became of one source: converted to `output`, or failed with a one-line `reason` and an exit status."""

    source: Path
    output: Path | None = None
    summary: str = ""
    reason: str = ""
    exit_code: int = 0

    @property
    def converted(self) -> bool:
        return self.output is not None


Done = Callable[[Outcome], None]


def sources_in(arguments: Sequence[str | Path]) -> tuple[list[Path], list[Outcome]]:
    """The sources named by `arguments` (files as given, folders expanded, each file once), and a failed outcome for
    each folder that holds none."""
    sources: dict[Path, Path] = {}
    empty: list[Outcome] = []
    for argument in map(Path, arguments):
        found = list(folder_sources(argument)) if os.path.isdir(argument) else [argument]
        if not found:
            empty.append(Outcome(argument, reason="no notebooks or percent-format scripts in this folder", exit_code=2))
        for source in found:
            sources.setdefault(source.absolute(), source)
    return list(sources.values()), empty


def folder_sources(folder: Path) -> Iterator[Path]:
    """The notebooks and percent-format scripts under `folder`, in sorted order, skipping what the module doc says."""
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if entered(Path(root) / name))
        for name in sorted(files):
            path = Path(root) / name
            if not name.startswith(".") and (name.endswith(".ipynb") or (name.endswith(".py") and percent_script(path))):
                yield path


def entered(folder: Path) -> bool:
    """Whether a folder walk goes into `folder`: not hidden, not a cache, not an environment."""
    if folder.name.startswith(".") or folder.name in SKIPPED_FOLDERS:
        return False
    return not any((folder / marker).exists() for marker in ENVIRONMENT_MARKERS)


def percent_script(path: Path) -> bool:
    try:
        return PERCENT_CELL.search(source_bytes(path).decode("utf-8", "replace")) is not None
    except ReadError:  # not a regular file (a named pipe would block), too large, unreadable
        return False


def plan(sources: Sequence[Path], template: Options, parent: Path | None = None) -> list[Options]:
    """One Options per source, each package named from its source's stem, written as `parent/NAME` (default: the
    current folder). Two sources that would make the same package, or a package folder holding a source of the batch,
    are a UsageError, before any work."""
    if template.name or template.input_var or template.output_var:
        raise UsageError("--name, --input and --output name one source's package and variables; convert it on its own")
    parent = Path(parent) if parent is not None else Path.cwd()
    by_name: dict[str, Path] = {}
    for source in sources:
        name = default_name(source.stem)
        if name in by_name:
            raise UsageError(
                f"{by_name[name]} and {source} would both be written to {parent / name}; convert them separately with -o",
                path=str(source),
            )
        by_name[name] = source
    write.refuse_holding([parent / name for name in by_name], {source: "the source" for source in sources})
    return [
        replace(template, source=source, output=parent / name, template_dir=template.template_dir or templates_for(source))
        for name, source in by_name.items()
    ]


def templates_for(source: Path) -> Path | None:
    """The template folder a project configures for the sources under it (`[tool.nbextract] template-dir`)."""
    from .scaffold import configured_template_dir

    return configured_template_dir(source.parent)


def convert_all(options: Sequence[Options], jobs: int = 1, done: Done | None = None) -> list[Outcome]:
    """Convert each source, in `jobs` worker processes (0: one per core), calling `done` as each one finishes.
    Returns the outcomes in the order of `options`. Ctrl-C or SIGTERM stops the workers; each conversion is atomic, so
    no package is left half-written."""
    workers = min(jobs or os.cpu_count() or 1, len(options))
    finished: dict[int, Outcome] = {}
    for position, outcome in outcomes(list(options), workers):
        finished[position] = outcome
        if done is not None:
            done(outcome)
    return [finished[position] for position in range(len(options))]


def outcomes(options: list[Options], workers: int) -> Iterator[tuple[int, Outcome]]:
    """(position, outcome) pairs as conversions finish: in this process, or in a pool of workers."""
    if workers <= 1:
        yield from map(converted, enumerate(options))
        return
    pool = multiprocessing.get_context().Pool(workers, initializer=worker_signals)
    try:
        yield from pool.imap_unordered(converted, enumerate(options))
    except BaseException:
        pool.terminate()  # SIGTERM: a worker still converting unwinds and removes its temporary folder
        raise
    else:
        pool.close()
    finally:
        pool.join()


def converted(job: tuple[int, Options]) -> tuple[int, Outcome]:
    """Convert one source; any error becomes a failed Outcome (a worker never raises, so the batch goes on)."""
    from .convert import convert
    from .secrets import redact

    position, options = job
    try:
        result = convert(options)
    except NbextractError as error:
        return position, Outcome(options.source, reason=reason(error, options.source), exit_code=error.exit_code)
    except Exception as error:  # a bug of ours: report it for this source and go on with the others
        return position, Outcome(options.source, reason=redact(f"internal error ({type(error).__name__}: {error})"), exit_code=1)
    return position, Outcome(options.source, result.output, describe(result.manifest))


def reason(error: NbextractError, source: Path) -> str:
    """The error's one line without the source's own path (the table names it); another path (OUT, a template) stays."""
    if error.path is not None and Path(error.path) == Path(source):
        return str(replace(error, path=None))
    return str(error)


def describe(manifest: dict) -> str:
    """`input X, output Y, N artifacts, M findings` from a manifest."""
    return (
        f"input {manifest['inputs'][0]['name']}, output {manifest['outputs'][0]['name']}, "
        f"{plural(len(manifest['artifacts']), 'artifact')}, {plural(len(manifest['findings']), 'finding')}"
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def exit_status(results: Iterable[Outcome]) -> int:
    """0 when every source converted; 2 when none did and every failure was bad usage or unreadable input (what a
    single SOURCE would exit with); 1 otherwise."""
    results = list(results)
    failed = [outcome for outcome in results if not outcome.converted]
    if not failed:
        return 0
    return 2 if len(failed) == len(results) and all(outcome.exit_code == 2 for outcome in failed) else 1


def worker_signals() -> None:
    """In a worker: Ctrl-C is the parent's to handle (it terminates the pool); SIGTERM, the pool's terminate, unwinds
    the conversion quietly (SystemExit, not a traceback), so the atomic write removes its temporary folder."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, leave)


def leave(signum, frame):
    raise SystemExit(128 + signum)
