"""What the generated Predictor costs beside the source's own call, per sample and number of rows (issue 21).

    python benchmarks/predictor_speed.py [--rows 1,100,1000,10000] [--repeats 15] [--warmup 25] [--torch-threads N]
        [--samples GLOB] [--markdown benchmarks/predictor_speed.md]

Every sample of sample_notebooks/ (a copy: the sources write files where they run) is converted with --execute (the source's own run trains it and records its input).
Then, in one fresh process per sample, inputs of each size are built by repeating the recorded input rows, and the
two calls are timed in turn, `--repeats` times each after `--warmup` calls each: the source's own call (its preprocess,
infer and postprocess statements, as the package's stage functions, on the fitted state loaded from artifacts/: no
validation, no drift check, no batching, no timing) and `Predictor.predict` (all of them). The warm-up takes the
Predictor past the drift check's first batches (drift.FIRST_CHECKS, checked whatever they cost), to the state a
server is in: later batches are checked within the check's time budget, so the median call of a cheap model is one
the check skipped. Each cell is the median in ms; the ratio is Predictor over the source. `--torch-threads N` sets
torch's intra-op threads for both calls (on a shared machine, OpenMP's threads wait on other processes and a call's
time swings tenfold). Warnings (drift) are logged as a user would see them, to a discarded stream. The table is
rewritten after each sample, so an interrupted run keeps what it measured. It only measures and reports.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notebooks"
STAGES = ("preprocess", "infer", "postprocess")


def sample_files(folder: Path, patterns: str) -> list[Path]:
    """The samples matching any of the comma-separated globs."""
    found = {path for pattern in patterns.split(",") for path in folder.glob(pattern.strip())}
    return sorted(path for path in found if path.suffix in (".ipynb", ".py"))


def converted(source: Path, out: Path) -> Path | str:
    """The sample converted with --execute into out/NAME, its package trained by the source's own run; or why the
    conversion failed."""
    target = out / source.stem
    command = [sys.executable, "-m", "nbextract", "convert", str(source), "-o", str(target), "--name", source.stem]
    command += ["--execute", "--force"]
    result = subprocess.run(command, cwd=source.parent, capture_output=True, text=True)
    if result.returncode:
        return (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
    return target


def measured(source: Path, package: Path, sizes: list[int], args: argparse.Namespace) -> list[dict]:
    """The timings of one sample, taken in a fresh process (this script with --measure)."""
    command = [sys.executable, __file__, "--measure", str(source), str(package), "--rows", ",".join(map(str, sizes))]
    command += ["--repeats", str(args.repeats), "--warmup", str(args.warmup), "--torch-threads", str(args.torch_threads)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.splitlines()[-1])


# --- in the child process: one sample --------------------------------------------------------------------------------


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage_code(source: Path) -> dict:
    """The stage functions nbextract wrote for `source`: names, parameters (where each value comes from), returns."""
    from nbextract import graph, magics, read, rewrite, slice
    from nbextract.options import Options

    document = read.read(source)
    planned = slice.plan(graph.build(document, magics.normalise(document)), Options(source=source))
    return rewrite.rewrite(planned).stages


def argument(param, values: dict, predictor):
    """A stage's argument, taken from where Predictor.predict takes it."""
    if param.source == "device":
        return predictor.device
    if param.source == "artifact":
        return predictor.artifacts[param.key]
    if param.source == "config":
        return getattr(predictor.settings, param.key)
    return values[param.name]


def source_call(stages: dict, modules: dict, predictor, input_name: str):
    """The source's own inference statements on the fitted state: the stage functions, in order, called once."""
    first = stages["preprocess"].params[0].name if stages["preprocess"].params else input_name

    def call(inputs):
        values = {first: inputs}
        for stage in STAGES:
            code = stages[stage]
            arguments = {param.name: argument(param, values, predictor) for param in code.params}
            result = getattr(modules[stage], code.function)(**arguments)
            values.update(zip(code.returns, result if len(code.returns) > 1 else [result]))
        return values[stages["postprocess"].returns[0]]

    return call


def interleaved_ms(calls: list, repeats: int, warmup: int) -> list[float]:
    """The median milliseconds of each call, run in turn `repeats` times after `warmup` calls each."""
    timings = [[] for _ in calls]
    for call in calls:
        for _ in range(max(warmup, 1)):
            call()
    for _ in range(repeats):
        for call, spent in zip(calls, timings):
            started = time.perf_counter()
            call()
            spent.append((time.perf_counter() - started) * 1000)
    return [statistics.median(spent) for spent in timings]


def limit_torch_threads(threads: int) -> None:
    """torch's intra-op threads set to `threads` (0: as torch chooses), where torch is installed."""
    if threads and importlib.util.find_spec("torch"):
        importlib.import_module("torch").set_num_threads(threads)


def measure_sample(source: Path, package: Path, sizes: list[int], repeats: int, warmup: int) -> list[dict]:
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.WARNING)
    name = package.name
    sys.path.insert(0, str(package / "src"))
    modules = {stage: importlib.import_module(f"{name}.{stage}") for stage in STAGES}
    predictor = importlib.import_module(f"{name}.pipeline").Predictor.from_config(package / "config.toml")
    bench = load_module(package / "benchmarks" / "bench.py", f"{name}_bench")
    with open(package / "tests" / "golden" / "input.pkl", "rb") as handle:
        recorded = pickle.load(handle)
    manifest = json.loads((package / "nbextract.json").read_text(encoding="utf-8"))
    own = source_call(stage_code(source), modules, predictor, manifest["inputs"][0]["name"])
    rows = []
    for size in sizes:
        data = bench.rows(recorded, size)
        source_ms, predictor_ms = interleaved_ms([lambda: own(data), lambda: predictor.predict(data)], repeats, warmup)
        rows.append({"rows": size, "source_ms": source_ms, "predictor_ms": predictor_ms})
    return rows


# --- the table -------------------------------------------------------------------------------------------------------


def table(results: dict[str, list[dict] | str], args: argparse.Namespace) -> str:
    threads = f"torch on {args.torch_threads} thread(s)" if args.torch_threads else "torch's default threads"
    lines = [
        f"Medians of {args.repeats} calls of each, taken in turn after {args.warmup} warm-up calls of each, one fresh "
        f"process per sample, {threads} (`python benchmarks/predictor_speed.py`). The source's own call is its "
        "inference statements on the fitted state; Predictor.predict adds validation, the drift check (within its "
        "time budget), batching and timing.",
        "",
        "| sample | rows | source's own call ms | Predictor.predict ms | ratio |",
        "|---|---|---|---|---|",
    ]
    failed = {sample: rows for sample, rows in results.items() if isinstance(rows, str)}
    for sample, rows in results.items():
        if isinstance(rows, str):
            continue
        lines += [
            f"| {sample} | {row['rows']:,} | {row['source_ms']:.2f} | {row['predictor_ms']:.2f} | "
            f"{row['predictor_ms'] / row['source_ms']:.2f} |"
            for row in rows
        ]
    if failed:
        lines += ["", *(f"Not measured: {sample} did not convert: {why}" for sample, why in failed.items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1,100,1000,10000", help="input sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=25, help="calls of each before the timed ones, per size")
    parser.add_argument("--torch-threads", type=int, default=0, help="torch's intra-op threads (0: torch's default)")
    parser.add_argument("--samples", default="*", help="comma-separated globs of sample_notebooks/ file names (default: all)")
    parser.add_argument("--markdown", type=Path, default=ROOT / "benchmarks" / "predictor_speed.md")
    parser.add_argument("--measure", nargs=2, type=Path, metavar=("SOURCE", "PACKAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.rows.split(",")]
    if args.measure:
        limit_torch_threads(args.torch_threads)
        print(json.dumps(measure_sample(*args.measure, sizes, args.repeats, args.warmup)))
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        copy = shutil.copytree(SAMPLES, Path(folder) / "samples")
        for source in sample_files(copy, args.samples):
            package = converted(source, Path(folder) / "out")
            results[source.name] = measured(source, package, sizes, args) if isinstance(package, Path) else package
            args.markdown.write_text(table(results, args), encoding="utf-8")
            print(f"{source.name}: done", file=sys.stderr, flush=True)
    sys.stdout.write(table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
