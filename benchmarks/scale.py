"""Rows per second of a generated package past one machine (issue 19): in-process, through Ray Data and through Spark.

    python benchmarks/scale.py [--rows 10000,1000000] [--runs 3] [--batch-size 10000] [--markdown benchmarks/scale.md]

The tabular sample (sample_notebooks/churn_column_transformer.ipynb, a DataFrame input) is converted and trained in a
temporary folder. For each size, synthetic rows are drawn column by column from the sample's own data (seeded) and
written once as parquet (8 files). Each engine then runs in a fresh process of its own (this script with --engine),
started once, and times every size `--runs` times, interleaved across sizes: read the parquet folder, predict every row,
consume the predictions.

- in-process: pandas.read_parquet, then one Predictor.predict call on all rows (its batch_size setting splits it);
- Ray Data: ray.init(num_cpus=2), read_parquet, map_batches(BatchPredictor, batch_format="pandas", concurrency=2,
  num_cpus=0.5, batch_size=B), every output batch iterated (two actors of one logical CPU each would hold both CPUs
  and leave none to the tasks that read the files: the job would wait forever);
- Spark local[2]: read.parquet, withColumn("prediction", spark_udf(batch_size=B)(*input_columns())), the predictions
  counted.

The time is the wall time of one run; an engine's start-up (ray.init, the Spark session) is measured once, apart. Ray
Data starts its map actors for each run (each execution of a dataset loads the Predictor anew); Spark keeps its Python
workers, and predict_batch_udf their loaded Predictor, from one run to the next. Peak memory is the largest resident set of
one process that predicts (the in-process one; a Ray map worker; a Spark Python worker), sampled every 0.2 s. It only
measures and reports.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_notebooks" / "churn_column_transformer.ipynb"
PACKAGE = SAMPLE.stem
ENGINES = ("in-process", "ray", "spark")
PARQUET_FILES = 8
SAMPLE_EVERY = 0.2
STARTS_TRIED = 3  # a Ray node that misses Ray's own start-up limit on a loaded machine is started again
RAY_LATE_START = "or the GCS has become overloaded."
RAY_ACTOR_CPUS = 0.5  # two map actors take one logical CPU of ray.init's two, leaving one to read the files
NOTES = (
    "Ray Data starts its two map actors anew for each job, each loading the Predictor: most of its fixed cost. Spark",
    "keeps its Python workers, and predict_batch_udf their loaded Predictor, from one job to the next (the slowest",
    "run is the first, which started them). A Ray or Spark peak is that of one worker holding the Predictor and one",
    "batch; the in-process one holds all the rows.",
)
WORKER_MARKS = {"in-process": None, "ray": "MapBatches", "spark": "pyspark.daemon"}


def trained_project(folder: Path) -> Path:
    """The sample converted into folder/NAME and trained by its own training/train.py."""
    out = folder / PACKAGE
    convert = [sys.executable, "-m", "nbextract", "convert", str(SAMPLE), "-o", str(out), "--force"]
    subprocess.run(convert, cwd=folder, check=True, capture_output=True, text=True)
    subprocess.run([sys.executable, "training/train.py"], cwd=out, check=True, capture_output=True, text=True)
    return out


def synthetic_rows(project: Path, rows: int, target: Path) -> Path:
    """`rows` rows of the input's columns, each column drawn (seeded) from the sample's own values, as parquet files."""
    import numpy
    import pandas

    spec = json.loads((project / "artifacts" / "input_profile.json").read_text())["spec"]
    data = pandas.read_csv(project / "data" / "churn.csv")
    random = numpy.random.default_rng(rows)
    table = pandas.DataFrame(
        {column["name"]: random.choice(data[column["name"]].to_numpy(), rows) for column in spec["columns"]}
    )
    target.mkdir(parents=True)
    for part, start in enumerate(range(0, rows, -(-rows // PARQUET_FILES))):
        table.iloc[start : start + -(-rows // PARQUET_FILES)].to_parquet(target / f"part-{part}.parquet", index=False)
    return target


def measured(engine: str, project: Path, tables: dict[int, Path], runs: int, batch_size: int) -> dict:
    """One engine's timings, taken in a fresh process (this script with --engine)."""
    command = [sys.executable, __file__, "--engine", engine, "--project", str(project), "--runs", str(runs)]
    command += [
        "--batch-size",
        str(batch_size),
        "--tables",
        json.dumps({rows: str(path) for rows, path in tables.items()}),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(project / "src"), os.environ.get("PYTHONPATH")])),
    }
    for _ in range(STARTS_TRIED):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        failure = result.stderr.strip().splitlines()[-1] if result.returncode else ""
        if not failure.endswith(RAY_LATE_START):
            break
    if failure:
        raise SystemExit(f"{engine}: {failure}")
    return json.loads(result.stdout.splitlines()[-1])


# --- in the child process: one engine ---------------------------------------------------------------------------------


class PeakMemory:
    """The largest resident set, in bytes, of this process (mark None) or of the processes whose command line holds
    `mark`, sampled in a thread while the block runs."""

    def __init__(self, mark: str | None) -> None:
        self.mark, self.peak, self.stop = mark, 0, threading.Event()

    def __enter__(self) -> "PeakMemory":
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, *self.resident_sets())

    def sample(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY):
            self.peak = max(self.peak, *self.resident_sets())

    def resident_sets(self) -> list[int]:
        import psutil

        if self.mark is None:
            return [psutil.Process().memory_info().rss]
        sizes = [0]
        for process in psutil.process_iter(["cmdline", "memory_info"]):
            command = " ".join(process.info["cmdline"] or [])
            if self.mark in command and process.info["memory_info"]:
                sizes.append(process.info["memory_info"].rss)
        return sizes


def in_process_run(batch_size: int):
    """A run: read the parquet folder with pandas, one Predictor.predict call."""
    import pandas

    predictor = importlib.import_module(PACKAGE).Predictor.from_config()

    def run(path: str) -> int:
        return len(predictor.predict(pandas.read_parquet(path)))

    return run, lambda: None


def ray_run(batch_size: int):
    """A run: Ray Data reads the folder and maps BatchPredictor over it on two actors."""
    import ray

    BatchPredictor = importlib.import_module(f"{PACKAGE}.batch").BatchPredictor
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False

    def run(path: str) -> int:
        scored = ray.data.read_parquet(path).map_batches(
            BatchPredictor, batch_format="pandas", batch_size=batch_size, concurrency=2, num_cpus=RAY_ACTOR_CPUS
        )
        return sum(len(batch["prediction"]) for batch in scored.iter_batches(batch_size=None, batch_format="pandas"))

    return run, ray.shutdown


def spark_run(batch_size: int):
    """A run: Spark local[2] reads the folder, applies spark_udf() to the input's columns and counts the predictions."""
    from pyspark.sql import SparkSession, functions

    batch = importlib.import_module(f"{PACKAGE}.batch")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    udf, columns = batch.spark_udf(batch_size=batch_size), batch.input_columns()

    def run(path: str) -> int:
        scored = spark.read.parquet(path).withColumn("prediction", udf(*columns))
        return scored.agg(functions.count("prediction")).first()[0]

    return run, spark.stop


STARTS = {"in-process": in_process_run, "ray": ray_run, "spark": spark_run}


def measure_engine(engine: str, tables: dict[str, str], runs: int, batch_size: int) -> dict:
    """Start-up seconds, then per size each run's wall seconds and the peak resident set of a predicting process."""
    started = time.perf_counter()
    run, stop = STARTS[engine](batch_size)
    startup = time.perf_counter() - started
    walls: dict[str, list[float]] = {rows: [] for rows in tables}
    peaks = dict.fromkeys(tables, 0)
    for _ in range(runs):
        for rows, path in tables.items():
            with PeakMemory(WORKER_MARKS[engine]) as memory:
                begun = time.perf_counter()
                assert run(path) == int(rows)
                walls[rows].append(time.perf_counter() - begun)
            peaks[rows] = max(peaks[rows], memory.peak)
    stop()
    return {"startup": startup, "walls": walls, "peaks": peaks}


# --- the report -------------------------------------------------------------------------------------------------------


def versions() -> str:
    from importlib import metadata

    names = ("pandas", "scikit-learn", "ray", "pyspark", "pyarrow")
    return ", ".join(f"{name} {metadata.version(name)}" for name in names)


def java_version() -> str:
    result = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return result.stderr.splitlines()[0] if result.returncode == 0 else "no java"


def markdown(results: dict[str, dict], args, loads: tuple[float, float]) -> str:
    lines = [
        "# Past one machine: rows per second (benchmarks/scale.py)",
        "",
        f"churn_column_transformer.ipynb (scikit-learn ColumnTransformer + LogisticRegression, a DataFrame of 8 columns);"
        f" synthetic rows drawn from its data, read from parquet; {args.runs} runs per cell, medians."
        f" Ray Data and Spark on 2 workers, batch size {args.batch_size:,}.",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {versions()}, {java_version()};"
        f" load average {loads[0]:.1f} at the start and {loads[1]:.1f} at the end (other sessions were running).",
        "",
        "| engine | rows | median s | rows/s | fastest - slowest s | peak RSS of a predicting process | start-up s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for engine, result in results.items():
        for rows, walls in result["walls"].items():
            median = statistics.median(walls)
            lines.append(
                f"| {engine} | {int(rows):,} | {median:.2f} | {int(rows) / median:,.0f} | {min(walls):.2f} - {max(walls):.2f}"
                f" | {result['peaks'][rows] / 2**20:,.0f} MiB | {result['startup']:.1f} |"
            )
    lines += ["", *marginal_rates(results), "", *NOTES]
    return "\n".join(lines) + "\n"


def marginal_rates(results: dict[str, dict]) -> list[str]:
    """Per engine, from its smallest and largest size: the rows per second the extra rows cost, and the fixed cost of
    a job that this leaves (starting workers, loading the Predictor, scheduling)."""
    lines = []
    for engine, result in results.items():
        sizes = sorted(result["walls"], key=int)
        if len(sizes) < 2:
            continue
        small, large = (statistics.median(result["walls"][rows]) for rows in (sizes[0], sizes[-1]))
        rate = (int(sizes[-1]) - int(sizes[0])) / max(large - small, 1e-9)
        fixed = max(small - int(sizes[0]) / rate, 0.0)
        lines.append(f"- {engine}: {rate:,.0f} rows/s past the first rows; about {fixed:.1f} s fixed cost per job.")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--markdown", type=Path, default=ROOT / "benchmarks" / "scale.md")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tables", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine:
        print(json.dumps(measure_engine(args.engine, json.loads(args.tables), args.runs, args.batch_size)))
        return 0
    start_load = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="nbextract-scale-"))
    try:
        project = trained_project(folder)
        tables = {
            int(rows): synthetic_rows(project, int(rows), folder / f"rows-{rows}") for rows in args.rows.split(",")
        }
        results = {}
        for engine in args.engines.split(","):
            results[engine] = measured(engine, project, tables, args.runs, args.batch_size)
            args.markdown.write_text(markdown(results, args, (start_load, os.getloadavg()[0])), encoding="utf-8")
            print(f"{engine}: done", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(args.markdown.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
