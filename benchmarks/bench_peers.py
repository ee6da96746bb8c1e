"""Whole-process timing of `nbextract convert` against its peers, on generated notebooks and on the samples.

    python benchmarks/bench_peers.py [--runs 3] [--sizes 130,1000,2500] [--timeout 180] [--peers /tmp/peers/bin]
                                     [--markdown FILE]

Tools, each a fresh process per run, interleaved (A B C D A B C D ...), timed by bench_cli.run_once:
  nbextract convert NB -o OUT --force     (this project's venv)
  jupytext --to py:percent NB -o OUT.py  (peers venv)
  soorgeon refactor NB                   (peers venv; on a fresh copy of NB each run, since it writes beside it;
                                          its telemetry is switched off with PLOOMBER_STATS_ENABLED=false)
  jupyter nbconvert --to script NB       (this project's venv; the baseline of every ratio: read + write)
A run still going after --timeout seconds is killed and shown as "> N s"; a tool that timed out is not run again on
that notebook. The samples are every .ipynb of sample_notebooks/; their row sums each tool's per-sample medians.
Start-up is `nbextract --help` against `python -c "import click"`. This only measures and reports.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_notebook  # noqa: E402
from bench_cli import DEFAULT_BIN, REPO, TIMED_OUT, Result, publish, run_once  # noqa: E402

TOOLS = ["nbextract convert", "jupytext --to py:percent", "soorgeon refactor", "nbconvert --to script"]
BASELINE = "nbconvert --to script"


@dataclass
class Timing(Result):
    """The runs of one tool on one notebook."""

    tool: str = ""
    argv: list[str] = field(default_factory=list)

    @property
    def timed_out(self) -> bool:
        return TIMED_OUT in self.codes

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def commands(tool: str, notebook: Path, scratch: Path, bins: dict[str, Path]) -> tuple[list[str], Path | None]:
    """argv of `tool` on `notebook`, and the folder it runs in (soorgeon: a fresh copy of the notebook's folder)."""
    if tool == "nbextract convert":
        return [str(bins["ours"] / "nbextract"), "convert", str(notebook), "-o", str(scratch / "out"), "--force"], None
    if tool == "jupytext --to py:percent":
        return [str(bins["peers"] / "jupytext"), "--to", "py:percent", str(notebook), "-o", str(scratch / "jupytext.py")], None
    if tool == "soorgeon refactor":
        folder = scratch / "soorgeon"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        shutil.copy(notebook, folder / notebook.name)
        return [str(bins["peers"] / "soorgeon"), "refactor", notebook.name], folder
    return [str(bins["ours"] / "jupyter"), "nbconvert", "--to", "script", str(notebook), "--output-dir", str(scratch / "nbconvert")], None


def measure_notebook(notebook: Path, runs: int, warmup: int, timeout: float, scratch: Path, bins) -> dict[str, Timing]:
    """Each tool `warmup` times untimed, then `runs` times interleaved; a tool that times out is dropped."""
    env = {**os.environ, "PLOOMBER_STATS_ENABLED": "false"}
    timings = {tool: Timing() for tool in TOOLS}
    for number in range(warmup + runs):
        for tool, timing in timings.items():
            if timing.timed_out:
                continue
            argv, cwd = commands(tool, notebook, scratch, bins)
            run = run_once(argv, scratch / "stderr.txt", timeout, cwd, env)
            if number >= warmup or run[2] == TIMED_OUT:
                timing.record(*run)
    return timings


def cell_text(timing: Timing, baseline: float, timeout: float) -> str:
    if timing.timed_out:
        return f"> {timeout:.0f} s"
    failed = "" if set(timing.codes) == {0} else f" (exit {','.join(map(str, sorted(set(timing.codes))))})"
    return f"{timing.median:.2f} s ({timing.median / baseline:.1f}x){failed}"


def table_row(label: str, cells: str, timings: dict[str, Timing], timeout: float) -> str:
    baseline = timings[BASELINE].median
    times = [cell_text(timings[tool], baseline, timeout) for tool in TOOLS]
    rss = " / ".join(f"{max(timings[tool].rss) / 2**20:.0f}" if timings[tool].rss else "-" for tool in TOOLS)
    cpu = " / ".join(f"{statistics.median(timings[tool].cpu):.1f}" if timings[tool].cpu and not timings[tool].timed_out else "-" for tool in TOOLS)
    return f"| {label} | {cells} | " + " | ".join(times) + f" | {cpu} | {rss} |"


def summed(all_timings: list[dict[str, Timing]]) -> dict[str, Timing]:
    """One Timing per tool whose median is the sum of the per-notebook medians (and whose RSS is the largest)."""
    total = {}
    for tool in TOOLS:
        parts = [timings[tool] for timings in all_timings]
        total[tool] = Timing(
            times=[sum(part.median for part in parts)],
            rss=[max(rss for part in parts for rss in part.rss)],
            cpu=[sum(statistics.median(part.cpu) for part in parts)],
            codes=sorted({code for part in parts for code in part.codes}) if not any(p.timed_out for p in parts) else [TIMED_OUT],
            error=next((part.error for part in parts if part.error), ""),
        )
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool and notebook (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first, on the first notebook only (default 1)")
    parser.add_argument("--sizes", default="130,1000,2500", help="cell counts of generated notebooks")
    parser.add_argument("--timeout", type=float, default=180, help="seconds before a run is killed (default 180)")
    parser.add_argument("--samples", type=Path, default=REPO / "sample_notebooks", help="folder of sample notebooks")
    parser.add_argument("--bin", type=Path, default=DEFAULT_BIN, help="this project's venv bin (nbextract, jupyter)")
    parser.add_argument("--peers", type=Path, default=Path("/tmp/peers/bin"), help="venv bin holding jupytext and soorgeon")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    bins = {"ours": args.bin, "peers": args.peers}
    rows, errors, warmup = [], [], args.warmup
    with tempfile.TemporaryDirectory(prefix="nbextract-peers-") as tmp:
        scratch = Path(tmp)
        startup = []
        for tool, command in [("nbextract --help", [str(args.bin / "nbextract"), "--help"]),
                              ("import click", [str(args.bin / "python"), "-c", "import click"])]:
            times = [run_once(command, scratch / "stderr.txt")[0] for _ in range(args.runs + 2)][1:]
            startup.append(statistics.median(times))
        workloads = [("samples", sorted(args.samples.glob("*.ipynb")))]
        for size in (int(s) for s in args.sizes.split(",") if s.strip()):
            path = scratch / "notebooks" / f"generated_{size}.ipynb"
            path.parent.mkdir(exist_ok=True)
            gen_notebook.write_notebook(path, size)
            workloads.append((f"generated {size}", [path]))
        for label, notebooks in workloads:
            per_notebook = []
            for notebook in notebooks:
                print(f"measuring {notebook.name} ...", file=sys.stderr, flush=True)
                per_notebook.append(measure_notebook(notebook, args.runs, warmup, args.timeout, scratch, bins))
                warmup = 0  # the .pyc caches are warm after the first notebook
                errors += [f"- {tool} on {notebook.name}: {t.error}" for tool, t in per_notebook[-1].items() if t.error]
            cells = sum(len(gen_notebook.nbformat.read(str(nb), as_version=4).cells) for nb in notebooks)
            name = f"{len(notebooks)} samples (sum)" if len(notebooks) > 1 else label
            rows.append(table_row(name, f"{cells:,}", summed(per_notebook) if len(notebooks) > 1 else per_notebook[0], args.timeout))
    header = (
        "| notebook | cells | " + " | ".join(f"`{tool}`" for tool in TOOLS) + " | CPU s (same order) | peak RSS MiB (same order) |\n"
        + "|---|---|" + "---|" * len(TOOLS) + "---|---|"
    )
    notes = (
        f"Medians of {args.runs} runs (whole process, interleaved), ratio to nbconvert in the same run; timeout "
        f"{args.timeout:.0f} s. Start-up: `nbextract --help` {startup[0]:.3f} s, `python -c \"import click\"` "
        f"{startup[1]:.3f} s ({startup[0] / startup[1]:.2f}x). Python {platform.python_version()}, {os.cpu_count()} cores."
    )
    report = "\n".join([header, *rows, "", notes])
    if errors:
        report += "\n\nFailures (last stderr line of the first failing run):\n" + "\n".join(dict.fromkeys(errors))
    return publish(report, args.markdown)


if __name__ == "__main__":
    sys.exit(main())
