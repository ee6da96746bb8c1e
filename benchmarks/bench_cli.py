"""Whole-process timing of `nbextract` against `jupyter nbconvert --to script`, side by side.

    python benchmarks/bench_cli.py [--runs 5] [--sizes 100,1000,2500] [--command analyze|convert] [--markdown FILE]

For each size a notebook is generated (benchmarks/gen_notebook.py) into a temp dir, then both tools run on
it as subprocesses, interleaved, `--runs` times each after `--warmup` untimed runs. Start-up is measured as
`nbextract --help` against `python -c "import click"`. This only measures and reports: it asserts nothing,
and a failing command shows up in the table with its exit code.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_notebook  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BIN = REPO / ".venv" / "bin" if (REPO / ".venv" / "bin").is_dir() else Path(sys.executable).parent
RSS_UNIT = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux


@dataclass
class Result:
    tool: str
    argv: list[str]
    times: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # bytes
    codes: list[int] = field(default_factory=list)
    error: str = ""  # last stderr line of the first failing run
    cpu: list[float] = field(default_factory=list)  # user + system seconds of the child and the children it waited for

    def record(self, elapsed: float, rss: int, code: int, last: str, cpu: float = 0.0) -> None:
        """Add one run: what run_once returned."""
        self.times.append(elapsed)
        self.rss.append(rss)
        self.codes.append(code)
        self.cpu.append(cpu)
        if code != 0 and not self.error:
            self.error = last


TIMED_OUT = -9  # the exit code recorded for a run killed at its timeout


def run_once(
    argv: list[str], stderr_path: Path, timeout: float | None = None, cwd: Path | None = None, env: dict | None = None
) -> tuple[float, int, int, str, float]:
    """Run argv once; return (wall seconds, peak RSS bytes of the child, exit code, last stderr line, CPU seconds: user
    and system time of the child and of the children it waited for). A run still going after `timeout` seconds is
    killed (with its process group) and reported with exit code TIMED_OUT."""
    with open(stderr_path, "w+b") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd, env=env, start_new_session=True
            )
        except OSError as exc:
            return time.perf_counter() - start, 0, 127, f"{type(exc).__name__}: {exc}", 0.0
        status, usage, peak = wait_for(proc.pid, start + timeout if timeout else None)
        elapsed = time.perf_counter() - start
        if status is None:  # timed out: kill it and its children, then collect it
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            proc.returncode = TIMED_OUT
            return elapsed, peak, TIMED_OUT, f"killed after {timeout:.0f} s", 0.0
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, peak or usage.ru_maxrss * RSS_UNIT, code, lines[-1] if lines else "", cpu


def wait_for(pid: int, deadline: float | None):
    """(status, rusage, peak RSS bytes) once the child exits, or (None, None, peak) if it still runs at `deadline`.

    The peak is the child's VmHWM from /proc, read every 10 ms while it runs (0 where /proc is missing). ru_maxrss
    of os.wait4 would not do: a child starts as a fork of this process, and Linux carries the fork's high-water mark
    across exec, so a tool smaller than this benchmark process would be reported at this process's size."""
    peak = 0
    while True:
        finished, status, usage = os.wait4(pid, os.WNOHANG)
        if finished:
            return status, usage, peak
        peak = max(peak, high_water_mark(pid))
        if deadline is not None and time.perf_counter() >= deadline:
            return None, None, peak
        time.sleep(0.01)


def high_water_mark(pid: int) -> int:
    """VmHWM of a running process in bytes; 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def measure(commands: list[tuple[str, list[str]]], runs: int, warmup: int, scratch: Path) -> list[Result]:
    """Run every command `warmup` times untimed, then `runs` times interleaved (A B A B ...)."""
    results = [Result(tool, argv) for tool, argv in commands]
    for _ in range(warmup):
        for result in results:
            run_once(result.argv, scratch / "stderr.txt")
    for _ in range(runs):
        for result in results:
            result.record(*run_once(result.argv, scratch / "stderr.txt"))
    return results


def exit_codes(codes: list[int]) -> str:
    distinct = sorted(set(codes))
    return ", ".join(str(c) for c in distinct) if distinct else "-"


def rows_for(
    workload: str, cells: int | None, results: list[Result], previous: dict[str, tuple[int, float]]
) -> list[list[str]]:
    """Table rows of one workload and size; the last result is the baseline of the ratio column."""
    baseline = statistics.median(results[-1].times)
    rows = []
    for result in results:
        median = statistics.median(result.times)
        per_k = slope = "-"
        if cells:
            per_k = f"{median / cells * 1e6:.1f}"  # ms per 1,000 cells: seconds / cells * 1000 * 1000
            if result.tool in previous:
                prev_cells, prev_median = previous[result.tool]
                slope = f"{(median - prev_median) / (cells - prev_cells) * 1e6:.1f}"
            previous[result.tool] = (cells, median)
        rows.append(
            [
                workload,
                str(cells) if cells else "-",
                result.tool,
                exit_codes(result.codes),
                f"{median:.3f}",
                f"{min(result.times):.3f}",
                f"{max(result.rss) / 2**20:.0f}",
                per_k,
                slope,
                f"{median / baseline:.2f}",
            ]
        )
    return rows


HEADER = [
    "workload",
    "cells",
    "tool",
    "exit",
    "median s",
    "min s",
    "peak RSS MiB",
    "ms/1k cells",
    "Δ ms/1k cells",
    "× baseline",
]


def publish(report: str, markdown: Path | None) -> int:
    """Print the report, and write it to `markdown` when given; the exit status of a benchmark (it asserts nothing)."""
    print(report)
    if markdown:
        markdown.write_text(report + "\n", encoding="utf-8")
    return 0


def markdown_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(HEADER), separator, *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool and size (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--sizes", default="100,1000,2500", help="comma-separated cell counts")
    parser.add_argument(
        "--command", choices=["analyze", "convert"], default="analyze", help="nbextract subcommand to time"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated notebooks")
    parser.add_argument(
        "--bin", type=Path, default=DEFAULT_BIN, help=f"dir holding nbextract, jupyter, python (default {DEFAULT_BIN})"
    )
    parser.add_argument("--markdown", type=Path, help="also write the results table to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    tool = lambda name: str(args.bin / name)  # noqa: E731

    rows: list[list[str]] = []
    errors: list[str] = []
    previous: dict[str, tuple[int, float]] = {}
    with tempfile.TemporaryDirectory(prefix="nbextract-bench-") as tmp:
        scratch = Path(tmp)
        startup = [
            ("nbextract --help", [tool("nbextract"), "--help"]),
            ("python -c 'import click'", [tool("python"), "-c", "import click"]),
        ]
        groups = [("start-up", None, startup)]
        for size in sizes:
            nb_path = scratch / f"generated_{size}.ipynb"
            cells = gen_notebook.write_notebook(nb_path, size, args.seed)
            if args.command == "analyze":
                ours = [tool("nbextract"), "analyze", str(nb_path)]
            else:
                ours = [tool("nbextract"), "convert", str(nb_path), "-o", str(scratch / "out"), "--force"]
            theirs = [
                tool("jupyter"),
                "nbconvert",
                "--to",
                "script",
                str(nb_path),
                "--output-dir",
                str(scratch / "nbconvert"),
            ]
            groups.append(
                (args.command, cells, [(f"nbextract {args.command}", ours), ("nbconvert --to script", theirs)])
            )
        for workload, cells, commands in groups:
            print(f"measuring {workload} {cells or ''} ...", file=sys.stderr, flush=True)
            results = measure(commands, args.runs, args.warmup, scratch)
            rows += rows_for(workload, cells, results, previous)
            errors += [f"- {r.tool} ({cells or workload}): {r.error or 'no stderr'}" for r in results if any(r.codes)]

    table = markdown_table(rows)
    notes = f"runs={args.runs} warmup={args.warmup} python={platform.python_version()} platform={platform.platform()}"
    report = (
        table
        + "\n\n"
        + notes
        + ("\n\nFailures (last stderr line):\n" + "\n".join(dict.fromkeys(errors)) if errors else "")
    )
    print(report)
    if args.markdown:
        args.markdown.write_text(f"# nbextract CLI benchmark ({args.command})\n\n{report}\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
