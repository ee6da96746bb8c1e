"""Runs, inside a venv where converted packages were installed with `pip install 'OUT[ray,spark,mlflow]'`, each
engine on each sample's rows and writes what it answered; tests/test_scale.py compares the answers with
Predictor.predict's. Usage: python scale_engines.py SPEC.json RESULTS.json

SPEC: {"samples": {KIND: {"package": NAME, "rows": ROWS.pkl, "columns": [...] or null, "input_columns": [...]}},
"folder": a scratch folder}. RESULTS: {KIND: {ENGINE: {"predictions": [...]} or {"error": "..."} or
{"skipped": "..."}}}. Rows carry a `row` column, so answers are put back in the input's order.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

TEXT_COLUMN = "review"


def in_row_order(table: pd.DataFrame) -> list:
    return table.sort_values("row")["prediction"].tolist()


def arrow_backed(sample: dict, rows: pd.DataFrame, engines: dict) -> list:
    """Ray Data reads parquet into Arrow-backed pandas columns (double[pyarrow], string[pyarrow])."""
    batch = importlib.import_module(f"{sample['package']}.batch")
    result = batch.BatchPredictor(columns=sample["columns"])(rows.convert_dtypes(dtype_backend="pyarrow"))
    return np.asarray(result["prediction"]).tolist()


def ray_map_batches(sample: dict, rows: pd.DataFrame, engines: dict) -> list:
    import ray.data

    batch = importlib.import_module(f"{sample['package']}.batch")
    dataset = ray.data.from_pandas([rows.iloc[start::4] for start in range(4)])
    scored = dataset.map_batches(
        batch.BatchPredictor,
        batch_format="pandas",
        batch_size=16,
        concurrency=2,
        fn_constructor_kwargs={"columns": sample["columns"]},
    ).to_pandas()
    if set(scored.columns) != {*rows.columns, "prediction"}:
        raise AssertionError(f"columns {sorted(scored.columns)}")
    return in_row_order(scored)


def spark_udf(sample: dict, rows: pd.DataFrame, engines: dict) -> list:
    batch = importlib.import_module(f"{sample['package']}.batch")
    frame = engines["spark"].createDataFrame(rows).repartition(3)
    scored = frame.withColumn("prediction", batch.spark_udf(batch_size=16)(*sample["input_columns"])).toPandas()
    return in_row_order(scored)


def exported(sample: dict, folder: Path) -> Path:
    target = folder / f"mlflow-{sample['package']}"
    if not target.exists():
        importlib.import_module(f"{sample['package']}.mlflow_model").export_mlflow(target)
    return target


def mlflow_pyfunc(sample: dict, rows: pd.DataFrame, engines: dict) -> list:
    import mlflow.pyfunc

    folder = exported(sample, engines["folder"])
    if not (folder / "artifacts" / "config.toml").is_file() or list(folder.rglob("*.pkl")):
        raise AssertionError("the exported model does not hold config.toml, or holds a pickle")
    model = mlflow.pyfunc.load_model(str(folder))
    if model.metadata.signature is None:
        raise AssertionError("the exported model has no signature")
    table = rows.drop(columns="row").rename(columns={TEXT_COLUMN: "input"})
    return np.asarray(model.predict(table)).tolist()


def mlflow_spark_udf(sample: dict, rows: pd.DataFrame, engines: dict) -> list:
    import mlflow.pyfunc

    udf = mlflow.pyfunc.spark_udf(engines["spark"], str(exported(sample, engines["folder"])), env_manager="local")
    scored = engines["spark"].createDataFrame(rows).withColumn("prediction", udf(*sample["input_columns"])).toPandas()
    return in_row_order(scored)


def mlflow_models_serve(sample: dict, rows: pd.DataFrame, engines: dict) -> list:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mlflow = Path(sys.executable).with_name("mlflow")
    model = exported(sample, engines["folder"])
    command = [
        str(mlflow),
        "models",
        "serve",
        "-m",
        str(model),
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    env = {**os.environ, "PATH": os.pathsep.join([str(mlflow.parent), os.environ.get("PATH", "")])}
    with open(engines["folder"] / f"serve-{sample['package']}.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            wait_until_ready(f"http://127.0.0.1:{port}/ping", server)
            table = rows.drop(columns="row").rename(columns={TEXT_COLUMN: "input"})
            body = {"dataframe_split": json.loads(table.to_json(orient="split", index=False))}
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations", json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["predictions"]
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)


def wait_until_ready(url: str, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"mlflow models serve did not answer {url} (exit code {server.poll()})")


ENGINES = {
    "arrow": (arrow_backed, None),
    "ray": (ray_map_batches, "ray"),
    "spark": (spark_udf, "spark"),
    "mlflow": (mlflow_pyfunc, None),
    "mlflow-spark": (mlflow_spark_udf, "spark"),
    "mlflow-serve": (mlflow_models_serve, None),
}


def start_ray(attempts: int = 3) -> None:
    """ray.init on two CPUs; on a loaded machine its node can miss Ray's own 30-second start-up limit, so a node
    that timed out is started again (at most `attempts` times)."""
    import ray

    for attempt in range(1, attempts + 1):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            return
        except Exception as error:  # Ray raises a bare Exception for a node that did not start in time
            ray.shutdown()
            if "timed out during startup" not in str(error) or attempt == attempts:
                raise


def started_engines(folder: Path) -> dict:
    """The running engines by name, or the reason one cannot run."""
    engines: dict = {"folder": folder}
    start_ray()
    engines["ray"] = True
    if shutil.which("java") is None:
        engines["skip-spark"] = "Spark needs java: apt-get install default-jre-headless"
        return engines
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    engines["spark"] = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    return engines


def answers(spec: dict) -> dict:
    engines = started_engines(Path(spec["folder"]))
    results: dict = {}
    for kind, sample in spec["samples"].items():
        rows = pd.read_pickle(sample["rows"])
        results[kind] = {}
        for engine, (function, needs) in ENGINES.items():
            if needs and needs not in engines:
                results[kind][engine] = {"skipped": engines.get(f"skip-{needs}", f"{needs} did not start")}
                continue
            try:
                results[kind][engine] = {"predictions": np.asarray(function(sample, rows, engines)).tolist()}
            except Exception:  # every engine's failure is reported, the others still run
                results[kind][engine] = {"error": traceback.format_exc(limit=8)}
    return results


def main() -> None:
    spec_path, results_path = map(Path, sys.argv[1:3])
    results_path.write_text(json.dumps(answers(json.loads(spec_path.read_text()))))


if __name__ == "__main__":
    main()
