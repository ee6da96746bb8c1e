"""--execute: run the source once, in a Jupyter kernel, and keep what the run made.

The first rendering of the project is written to a run folder beside OUT (so relative paths resolve as they will in OUT).
The source's cells run in a kernel started in the source's folder, with one line added after each statement that binds
something the project needs: the fitted state is saved with the generated package's own `save_artifact` (into a new artifact set, committed with
its manifest of hashes after the last cell), the input and
output at the boundary are pickled as golden examples, the input is described (the input spec) and the training-side
data summarised (drift statistics). Then the generated benchmark runs once. Plain and percent scripts run the same way,
as `__main__` with `__file__` and `sys.argv` set; cells tagged nbextract:skip and cells that do not parse are not run.
Ctrl-C or SIGTERM cancels the run and shuts the kernel down before the signal has its usual effect.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .document import Cell, Document, Origin
from .errors import ConversionError
from .graph import Statement, StatementGraph
from .secrets import redact
from .slice import Plan
from .write import write_files

GOLDEN = "tests/golden"
RUN_FILE = "run.json"
BENCHMARK_TABLE = "benchmarks/results.md"
SERVE_TABLE = "benchmarks/serve_results.md"
SERVE_LOAD = ("--requests", "100", "--concurrency", "4")  # bounded: about 600 loopback requests in all
SERVE_LIBRARIES = ("fastapi", "uvicorn")


@dataclass(frozen=True)
class Probe:
    """One line to run right after the statement at `origin`."""

    origin: Origin
    code: str


@dataclass
class Run:
    """What the source's run made: files for OUT (artifacts, golden examples, profile) and facts for the README."""

    files: dict[str, bytes] = field(default_factory=dict)
    spec: dict = field(default_factory=dict)
    output_spec: dict = field(default_factory=dict)
    artifact_types: dict[str, str] = field(default_factory=dict)
    benchmark: str = ""
    python: str = ""


def run_source(plan: Plan, files: dict[str, str | bytes], package: str, out: Path, progress=None) -> Run:
    """Run the source with probes against a first rendering of the project; return what the run made."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.run.", dir=out.parent))
    try:
        write_files(folder, files)
        (folder / GOLDEN).mkdir(parents=True)
        notebook = instrumented(plan, prelude(folder, package, plan.graph.document), probes(plan), epilogue(folder))
        execute(notebook, plan.graph, progress)
        tables = [benchmark(folder, plan.graph), *serving_benchmark(folder, plan.graph)]
        run = collected(folder)
        run.benchmark = "\n\n".join(tables)
        return run
    finally:
        shutil.rmtree(folder, ignore_errors=True)


PROBE_FAILED = "NbextractProbeError"
FIX_OR_SKIP = "fix the cell, or tag it nbextract:skip if the package does not need it"


def prelude(folder: Path, package: str, document: Document) -> str:
    """Code run before the first cell: import the generated package from the run folder and define the probes,
    whose failures are told apart from the source's own. Before recording, the source's own classes and functions that
    the package's helpers.py defines are adopted by it (their `__module__`), so that fitted state holding them (a
    custom transformer in a pipeline) pickles as the package's, not as `__main__`'s, and loads at inference."""
    lines = [
        "import pickle as _nbx_pickle, sys as _nbx_sys",
        f"_nbx_sys.path.insert(0, {str(folder / 'src')!r})",
        f"from {package} import artifacts as _nbx_artifacts, checks as _nbx_checks, model as _nbx_model",
        f"from {package}.config import load_settings as _nbx_load_settings",
        f"_nbx_settings = _nbx_artifacts.staged(_nbx_load_settings({str(folder / 'config.toml')!r}))",
        "_nbx_run = {'spec': {}, 'statistics': {}, 'output_spec': {}, 'artifact_types': {}}",
        f"class {PROBE_FAILED}(Exception):",
        "    pass",
        "def _nbx_adopt():",
        "    try:",
        f"        from {package} import helpers",
        "    except Exception:",
        "        return",
        "    for name, value in list(globals().items()):",
        "        if getattr(value, '__module__', None) == '__main__' and getattr(helpers, name, None) is not None:",
        "            value.__module__ = helpers.__name__",
        "            setattr(helpers, name, value)",
        "def _nbx_probe(what, name, value):",
        "    try:",
        "        _nbx_adopt()",
        "        if what == 'artifact':",
        "            _nbx_model.save_artifact(_nbx_settings, name, value)",
        "            _nbx_run['artifact_types'][name] = _nbx_checks.type_name(value)",
        "        elif what == 'reference':",
        "            _nbx_run['statistics'] = _nbx_checks.feature_statistics(value)",
        "        else:",
        f"            with open({str(folder / GOLDEN)!r} + '/' + what + '.pkl', 'wb') as handle:",
        "                _nbx_pickle.dump(value, handle)",
        "            _nbx_run['spec' if what == 'input' else 'output_spec'] = _nbx_checks.describe(value)",
        "    except Exception as error:",
        f"        raise {PROBE_FAILED}(f'recording {{what}} {{name}}: {{type(error).__name__}}: {{error}}') from None",
    ]
    if document.kind != "ipynb":
        path = str(Path(document.path).resolve())
        lines += [f"__file__ = {path!r}", f"_nbx_sys.argv = [{path!r}]"]
    return "\n".join(lines) + "\n"


def probes(plan: Plan) -> list[Probe]:
    """After the statements that make them: save each fitted state, keep the input and output, profile the data."""
    wanted = [("artifact", a.variable, a.statement) for a in plan.artifacts]
    wanted += [("input", plan.input.name, plan.input.statement), ("output", plan.output.name, plan.output.statement)]
    if plan.reference is not None:
        wanted.append(("reference", plan.reference.name, plan.reference.statement))
    statements = plan.graph.statements
    return [Probe(statements[index].origin, probe_code(statements[index], what, name)) for what, name, index in wanted]


def probe_code(statement: Statement, what: str, name: str) -> str:
    """The probe of `name`; for a statement nbextract hoisted out of a line of the source (`y_pred = m.predict(X)`
    out of `print(accuracy_score(y, m.predict(X)))`), which the source never ran as such, that statement first."""
    probe = f"_nbx_probe({what!r}, {name!r}, {name})"
    return f"{statement.code.strip()}; {probe}" if statement.hoisted else probe


def epilogue(folder: Path) -> str:
    """Code run after the last cell: write the profile, make what the run saved the current artifact set, and write
    what the run learnt."""
    return (
        "_nbx_checks.write_profile(_nbx_settings, {'spec': _nbx_run['spec'], 'statistics': _nbx_run['statistics']})\n"
        "_nbx_artifacts.commit(_nbx_settings)\n"
        f"with open({str(folder / RUN_FILE)!r}, 'w') as handle:\n"
        "    import json as _nbx_json\n"
        "    _nbx_json.dump({**_nbx_run, 'python': _nbx_sys.version.split()[0]}, handle, default=str)\n"
    )


def instrumented(plan: Plan, first: str, found: list[Probe], last: str):
    """The notebook to run: the source's runnable cells, each with its probes inserted after the right lines."""
    import nbformat

    document = plan.graph.document
    skipped = skipped_cells(plan)
    by_cell: dict[int, list[tuple[int, Probe]]] = {}
    for probe in found:
        cell, line = locate(document, probe.origin)
        by_cell.setdefault(cell.number, []).append((line, probe))
    cells = [nbformat.v4.new_code_cell(first)]
    for cell in document.code_cells:
        if cell.number in skipped:
            continue
        cells.append(nbformat.v4.new_code_cell(with_probes(cell.source, by_cell.get(cell.number, [])), metadata={"nbextract_cell": cell.number}))
    cells.append(nbformat.v4.new_code_cell(last))
    return nbformat.v4.new_notebook(cells=cells)


def skipped_cells(plan: Plan) -> set[int]:
    """Cells not run: tagged nbextract:skip, or set aside because they do not parse."""
    tagged = {cell.number for cell in plan.graph.document.code_cells if cell.stage_tag == "skip"}
    return tagged | {error.cell for error in plan.graph.broken if error.cell is not None}


def locate(document: Document, origin: Origin) -> tuple[Cell, int]:
    """The cell holding a statement and the statement's last line counted within that cell."""
    if origin.cell is not None:
        return next(cell for cell in document.code_cells if cell.number == origin.cell), origin.last_line
    for cell in document.code_cells:
        if cell.line_offset < origin.first_line <= cell.line_offset + cell.source.count("\n") + 1:
            return cell, origin.last_line - cell.line_offset
    raise ConversionError(f"{origin}: statement outside every block", path=document.path)


def with_probes(source: str, placed: list[tuple[int, Probe]]) -> str:
    """`source` with each probe's line after its statement's last line, indented like the statement."""
    lines = source.split("\n")
    for line, probe in sorted(placed, key=lambda item: -item[0]):
        first = lines[probe_first_line(probe, line) - 1]
        indent = first[: len(first) - len(first.lstrip())]
        lines.insert(line, indent + probe.code)
    return "\n".join(lines)


def probe_first_line(probe: Probe, last_local: int) -> int:
    return last_local - (probe.origin.last_line - probe.origin.first_line)


def execute(notebook, graph: StatementGraph, progress: Callable[[int, int, str], None] | None) -> None:
    """Run `notebook` in a kernel started in the source's folder; a failing cell, or one that kills the kernel, is one
    error naming that cell."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    document = graph.document
    total = len(notebook.cells)
    running: list[int | None] = []

    def started(cell, cell_index, **_):
        running.append(cell.metadata.get("nbextract_cell"))
        if progress is not None:
            number = cell.metadata.get("nbextract_cell")
            progress(cell_index, total, f"cell {number}" if number else ("setup" if cell_index == 0 else "saving"))

    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(Path(document.path).resolve().parent)}},
        on_cell_start=started,
    )
    try:
        run_cancellable(executed(client))
    except CellExecutionError as error:
        cell = failing_cell(notebook)
        if error.ename == PROBE_FAILED:
            raise ConversionError(
                f"--execute could not {quoted(error.evalue, graph)}; convert without --execute and run training/train.py",
                path=document.path,
                cell=cell,
            ) from None
        raise ConversionError(
            f"running the source failed: {error.ename}: {quoted(error.evalue, graph)}; {FIX_OR_SKIP}",
            path=document.path,
            cell=cell,
        ) from None
    except DeadKernelError:
        raise ConversionError(
            f"the kernel died running the source (the cell crashed it, exited it or ran out of memory); {FIX_OR_SKIP}",
            path=document.path,
            cell=running[-1] if running else None,
        ) from None
    if progress is not None:
        progress(total, total, "done")


async def executed(client) -> None:
    """The notebook's run; the kernel is shut down however the run ends (nbclient leaves it running when the run is
    cancelled while the kernel starts)."""
    try:
        await client.async_execute(stderr=subprocess.DEVNULL)
    finally:
        if client.km is not None and await client.km.is_alive():
            await client.km.shutdown_kernel(now=True)


class KernelLoop(asyncio.SelectorEventLoop):
    """An event loop that refuses signal handlers: nbclient's would shut the kernel down on SIGINT and SIGTERM and let
    the run go on (an AssertionError, or a package written from half a run); run_cancellable handles them instead."""

    def add_signal_handler(self, sig, callback, *args):
        raise RuntimeError("SIGINT and SIGTERM cancel the run")


def run_cancellable(coroutine) -> None:
    """Run `coroutine` on a KernelLoop. SIGINT or SIGTERM (seen in the main thread) cancels it and lets its cleanup
    run, whatever the run ended with (nbclient reports a cancelled cell as a dead kernel); then the signal goes to the
    handler it had before the run, and KeyboardInterrupt is raised if that handler returns."""
    loop = KernelLoop()
    task = loop.create_task(coroutine)
    received: list[int] = []

    def cancel(signum, frame) -> None:
        if not received:
            received.append(signum)
            loop.call_soon_threadsafe(task.cancel)

    previous = handled_by(cancel)
    try:
        loop.run_until_complete(task)
    except BaseException:
        if not received:
            raise
    finally:
        close(loop)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        signal.raise_signal(received[0])  # what the signal does without a run (cli: KeyboardInterrupt; a batch worker: exit)
        raise KeyboardInterrupt


def close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on `loop` (nbclient's pollers of a cancelled cell), let it end, close the loop."""
    left = asyncio.all_tasks(loop)
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    loop.close()


def handled_by(handler) -> dict:
    """Make `handler` handle SIGINT and SIGTERM, those not ignored, when in the main thread; the handlers it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    signals = [signum for signum in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(signum) is not signal.SIG_IGN]
    return {signum: signal.signal(signum, handler) for signum in signals}


def failing_cell(notebook) -> int | None:
    """The source's number of the cell whose output holds the error."""
    for cell in notebook.cells:
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            return cell.metadata.get("nbextract_cell")
    return None


def quoted(text: str, graph: StatementGraph) -> str:
    """The first line of what the run printed, with the source's secrets (and any token shape) replaced by markers."""
    text = redact(text, [secret for _, secret in graph.secrets]).strip()
    return text.splitlines()[0] if text else ""


def collected(folder: Path) -> Run:
    """Files and facts the probes left in the run folder."""
    facts = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    kept = [path for path in sorted((folder / "artifacts").rglob("*")) if path.is_file()]
    kept += sorted((folder / GOLDEN).glob("*.pkl"))
    kept += [folder / table for table in (BENCHMARK_TABLE, SERVE_TABLE) if (folder / table).exists()]
    return Run(
        files={path.relative_to(folder).as_posix(): path.read_bytes() for path in kept},
        spec=facts["spec"],
        output_spec=facts["output_spec"],
        artifact_types=facts["artifact_types"],
        python=facts["python"],
    )


def benchmark(folder: Path, graph: StatementGraph) -> str:
    """The benchmark table of the generated project, measured once on the golden input."""
    run_benchmark(folder, graph, ["benchmarks/bench.py", "--repeats", "20"])
    return (folder / BENCHMARK_TABLE).read_text(encoding="utf-8")


def serving_benchmark(folder: Path, graph: StatementGraph) -> list[str]:
    """The HTTP server's latency beside the in-process call, under a bounded loopback load, when this environment
    has the [serve] extra's libraries; nothing otherwise (the README then says how to measure it)."""
    if not all(importlib.util.find_spec(library) for library in SERVE_LIBRARIES):
        return []
    run_benchmark(folder, graph, ["benchmarks/serve_bench.py", *SERVE_LOAD])
    command = " ".join(["python benchmarks/serve_bench.py", *SERVE_LOAD])
    return [f"Over HTTP, measured by `{command}` at conversion time:\n\n" + (folder / SERVE_TABLE).read_text(encoding="utf-8")]


def run_benchmark(folder: Path, graph: StatementGraph, command: list[str]) -> None:
    """Run one of the generated benchmarks in the run folder. The package runs on the source's behalf, so it reads
    the secrets the source held from the variables it reads them from (unless set)."""
    result = subprocess.run(
        [sys.executable, *command],
        cwd=folder,
        env={**{secret.env: secret.value for _, secret in graph.secrets}, **os.environ},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ConversionError(
            f"the generated benchmark {command[0]} failed after the run: {quoted(result.stderr.splitlines()[-1] if result.stderr else '', graph)}",
            path=graph.document.path,
        )
