"""Past one machine (issue 19): Ray Data, Spark and MLflow run the generated package unchanged, and each gives exactly
Predictor.predict's answer on a sample's own input.

A tabular sample (a DataFrame input) and a text sample (a series of texts) are converted and trained here, then
installed as the receiving engineer installs them, `pip install 'OUT[ray,spark,mlflow]'`, into a venv of their own
(the engines bring pyarrow, which changes pandas' strings, so they stay out of the test venv). There
tests/scale_engines.py runs each engine for real, locally: Ray with two CPUs, Spark `local[2]`, an MLflow model
exported, loaded, served and turned into a Spark UDF. Without a package index the engines' tests skip, saying so;
Spark also needs `java`.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_end_to_end import assert_equivalent, put_training_data, run, sample_copies

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLES = {
    "table": ("churn_column_transformer.ipynb", "X_test", "y_pred"),
    "text": ("text_tfidf_sentiment.ipynb", "X_test", "y_pred"),
}
TEXT_COLUMN = "review"
IMPORT_WITHOUT_ENGINES = (
    "import sys; sys.modules.update(ray=None, pyspark=None, mlflow=None); "
    "import {0}.batch, {0}.mlflow_model; {0}.batch.BatchPredictor()"
)

pytestmark = pytest.mark.scale


class Sample:
    """A converted, trained sample imported in this process: its package, the source's input and output, and what
    Predictor.predict answers on that input."""

    def __init__(self, out: Path, values: dict, names: tuple[str, str]) -> None:
        self.out = out
        self.name = out.name
        self.source_input, self.source_output = values[names[0]], values[names[1]]
        self.package = importlib.import_module(self.name)
        self.batch = importlib.import_module(f"{self.name}.batch")
        self.answer = self.package.Predictor.from_config().predict(self.source_input)

    def rows(self) -> pd.DataFrame:
        """The input as a table an engine reads, with a row number to put its answers back in order: the table's
        own columns, or the texts in one column."""
        given = self.source_input
        table = given.reset_index(drop=True) if hasattr(given, "columns") else pd.DataFrame({TEXT_COLUMN: list(given)})
        return table.assign(row=np.arange(len(table)))

    def input_columns(self) -> list[str]:
        return self.batch.input_columns() or [TEXT_COLUMN]


def convert_and_train(workspace: Path, case: tuple[str, str, str]) -> tuple[Path, dict, tuple[str, str]]:
    """A sample (file, input and output names) run as its author ran it (its input and output captured), converted
    from a pristine copy, given the training data its README names, and trained."""
    file, *names = case
    original, source = workspace / "run" / file, workspace / "samples" / file
    captured = workspace / f"{source.stem}.pickle"
    run(
        [sys.executable, str(ROOT / "tests" / "capture_source.py"), str(original), str(captured), *names],
        original.parent,
    )
    out = workspace / "out" / source.stem
    run([str(BIN / "nbextract"), "convert", str(source), "-o", str(out), "--force"], workspace)
    put_training_data(out, source.parent)
    run([sys.executable, "training/train.py"], out)
    return out, pickle.loads(captured.read_bytes()), tuple(names)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Both samples, their packages importable here and, through PYTHONPATH, in the engines' worker processes."""
    workspace = sample_copies(tmp_path_factory.mktemp("scale"))
    with ThreadPoolExecutor() as pool:
        built = dict(zip(SAMPLES, pool.map(partial(convert_and_train, workspace), SAMPLES.values())))
    sources = [str(out / "src") for out, _, _ in built.values()]
    saved_path, saved_variable = list(sys.path), os.environ.get("PYTHONPATH")
    sys.path[:0] = sources
    os.environ["PYTHONPATH"] = os.pathsep.join([*sources, *filter(None, [saved_variable])])
    yield {kind: Sample(*values) for kind, values in built.items()}
    sys.path[:] = saved_path
    if saved_variable is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = saved_variable


@pytest.mark.parametrize("kind", SAMPLES)
def test_the_predictor_answers_what_the_source_computed(samples, kind):
    sample = samples[kind]
    assert_equivalent(sample.answer, sample.source_output, floats=False)


@pytest.mark.parametrize("kind", SAMPLES)
def test_a_batch_as_columns_of_arrays_gets_the_predictor_answer(samples, kind):
    sample = samples[kind]
    rows = sample.rows()
    batch = {name: rows[name].to_numpy() for name in rows.columns}
    result = sample.batch.BatchPredictor(columns=None if kind == "table" else [TEXT_COLUMN])(batch)
    assert set(result) == {*batch, "prediction"}
    assert result["prediction"].tolist() == np.asarray(sample.answer).tolist()


def test_one_column_input_among_several_columns_must_be_named(samples):
    sample = samples["text"]
    with pytest.raises(ValueError, match=r"name the input column \(columns=\[\.\.\.\]\)"):
        sample.batch.BatchPredictor()(sample.rows())


ENGINES = ["arrow", "ray", "spark", "mlflow", "mlflow-spark", "mlflow-serve"]
EXTRAS = "ray,spark,mlflow"
OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable", "ConnectTimeout")


@pytest.fixture(scope="module")
def engine_answers(samples, tmp_path_factory):
    """What every engine answered on every sample, in a venv where both packages were installed with their extras."""
    folder = tmp_path_factory.mktemp("engines")
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", str(venv)], folder)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", *(f"{sample.out}[{EXTRAS}]" for sample in samples.values())]
    installed = subprocess.run(install, cwd=folder, capture_output=True, text=True, timeout=1800)
    if installed.returncode and any(marker in installed.stderr for marker in OFFLINE):
        pytest.skip(
            f"the engines could not be installed without a package index: {installed.stderr.strip().splitlines()[-1]}"
        )
    assert installed.returncode == 0, installed.stderr[-3000:]
    spec = {"folder": str(folder), "samples": {}}
    for kind, sample in samples.items():
        rows = folder / f"{kind}.pkl"
        sample.rows().to_pickle(rows)
        columns = None if kind == "table" else [TEXT_COLUMN]
        spec["samples"][kind] = {
            "package": sample.name,
            "rows": str(rows),
            "columns": columns,
            "input_columns": sample.input_columns(),
        }
    (folder / "spec.json").write_text(json.dumps(spec))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    engines = [str(python), str(ROOT / "tests" / "scale_engines.py"), "spec.json", "answers.json"]
    ran = subprocess.run(engines, cwd=folder, capture_output=True, text=True, env=env, timeout=1800)
    assert ran.returncode == 0, ran.stderr[-3000:]
    return json.loads((folder / "answers.json").read_text())


@pytest.mark.parametrize("kind", SAMPLES)
@pytest.mark.parametrize("engine", ENGINES)
def test_an_engine_gets_the_predictor_answer(samples, engine_answers, kind, engine):
    answer = engine_answers[kind][engine]
    if "skipped" in answer:
        pytest.skip(answer["skipped"])
    assert "error" not in answer, answer.get("error")
    assert answer["predictions"] == np.asarray(samples[kind].answer).tolist()


@pytest.mark.parametrize(
    ("module", "call", "extra"),
    [("pyspark", "batch.spark_udf()", "spark"), ("mlflow", "mlflow_model.export_mlflow('m')", "mlflow")],
)
def test_an_engine_not_installed_is_a_one_line_error_naming_the_extra(samples, tmp_path, module, call, extra):
    name = samples["table"].name
    script = f"import sys; sys.modules[{module!r}] = None; import {name}.batch, {name}.mlflow_model; {name}.{call}"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"ImportError: {module} is not installed: pip install '{name}[{extra}]'"
    )


@pytest.mark.parametrize("kind", SAMPLES)
def test_the_package_imports_and_batches_without_any_engine(samples, tmp_path, kind):
    run([sys.executable, "-c", IMPORT_WITHOUT_ENGINES.format(samples[kind].name)], tmp_path)
