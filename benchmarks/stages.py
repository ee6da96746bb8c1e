"""Where the time of `nbextract convert` goes: each pipeline stage timed in one process, on generated notebooks.

    python benchmarks/stages.py [--sizes 130,1000,2500] [--runs 3] [--markdown FILE]

The stages are called in the order `nbextract.convert.convert` calls them (read, magics, graph, slice, rewrite,
context, render + format, write), on a notebook from gen_notebook.py; each cell of the table is the median over the
runs of that stage's wall time. Start-up (interpreter and imports) is measured apart, as a fresh process importing the
CLI's conversion modules. This only measures and reports.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_notebook  # noqa: E402
from bench_cli import publish  # noqa: E402

STAGES = ["read", "magics", "graph", "slice", "rewrite", "context", "render + format", "write"]


def timed_stages(source: Path, out: Path) -> dict[str, float]:
    """Seconds per stage of one conversion of `source` into `out`."""
    from nbextract import context, graph, magics, read, rewrite, slice, write
    from nbextract.convert import project_files
    from nbextract.options import Options
    from nbextract.process_wide import PAUSED_COLLECTOR
    from nbextract.traversal import read_only_visits

    options = Options(source=source, output=out, force=True)
    seconds: dict[str, float] = {}

    def run(stage: str, step):
        start = time.perf_counter()
        value = step()
        seconds[stage] = time.perf_counter() - start
        return value

    with PAUSED_COLLECTOR.held(), read_only_visits():  # as convert() runs the stages
        document = run("read", lambda: read.read(source))
        cells = run("magics", lambda: magics.normalise(document))
        statements = run("graph", lambda: graph.build(document, cells))
        planned = run("slice", lambda: slice.plan(statements, options))
        code = run("rewrite", lambda: rewrite.rewrite(planned))
        data = run("context", lambda: context.build(planned, code, options))
        files = run("render + format", lambda: project_files(data, options))
        run("write", lambda: write.write_tree(files, out, True))
    return seconds


def start_up(runs: int) -> float:
    """Median seconds of a fresh interpreter importing the conversion API."""
    argv = [sys.executable, "-c", "import nbextract.convert"]
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="130,1000,2500", help="cell counts of generated notebooks")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    columns: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="nbextract-stages-") as tmp:
        for size in sizes:
            source = Path(tmp) / f"generated_{size}.ipynb"
            gen_notebook.write_notebook(source, size)
            runs = [timed_stages(source, Path(tmp) / "out") for _ in range(args.runs)]
            columns[size] = {stage: statistics.median(run[stage] for run in runs) for stage in STAGES}
    imports = start_up(args.runs)
    lines = [
        "| stage | " + " | ".join(f"{size:,} cells" for size in sizes) + " |",
        "|---|" + "---|" * len(sizes),
        "| start-up (a fresh process importing the API) | " + " | ".join(f"{imports:.2f} s" for _ in sizes) + " |",
    ]
    lines += [f"| {stage} | " + " | ".join(f"{columns[size][stage]:.2f} s" for size in sizes) + " |" for stage in STAGES]
    lines.append("| all stages | " + " | ".join(f"{sum(columns[size].values()):.2f} s" for size in sizes) + " |")
    lines += ["", f"Medians of {args.runs} runs in one process; Python {platform.python_version()}."]
    report = "\n".join(lines)
    return publish(report, args.markdown)


if __name__ == "__main__":
    sys.exit(main())
