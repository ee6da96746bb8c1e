"""MLflow (`pip install 'NAME[mlflow]'`): `python -m NAME export-mlflow DIR` writes the
package as an MLflow pyfunc model from code. DIR holds a small model file that builds
the Predictor in load_context, the package's code, its config.toml and artifacts, the
signature and an input example from the recorded input spec, and the package's pinned
dependencies. Then, with no change:

    mlflow.pyfunc.load_model(DIR).predict(table)
    mlflow.pyfunc.spark_udf(spark, DIR, env_manager="local")
    mlflow models serve -m DIR --env-manager local

The input is a table: the recorded input's columns, or one column ("input") of texts,
values or rows; an array input may also be given as an array.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from . import config
from .batch import PACKAGE, BatchPredictor, example_prediction, extra_module
from .checks import conform
from .config import load_settings

CONFIG_ARTIFACT = "config.toml"
INPUT_COLUMN = "input"
MODEL_FILE = "model.py"
MODEL_CODE = '''"""MLflow model from code: {package}'s Predictor, built in load_context."""

import mlflow

from {package}.mlflow_model import pyfunc_model

mlflow.models.set_model(pyfunc_model())
'''


def export_mlflow(directory: str | os.PathLike, path=None) -> Path:
    """Write the MLflow pyfunc model into `directory` (new or empty), with the settings
    of config.toml (or `path`) and the environment now; returns the directory."""
    pyfunc = extra_module("mlflow.pyfunc", "mlflow")
    models = extra_module("mlflow.models", "mlflow")
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not empty: choose a new folder")
    settings = load_settings(path)
    batch = BatchPredictor(path)
    example = input_example(batch.spec)
    with tempfile.TemporaryDirectory() as staging:
        pyfunc.save_model(
            path=str(target),
            python_model=str(model_file(Path(staging))),
            code_paths=[str(package_code(Path(staging)))],
            artifacts=model_artifacts(settings, config_file(path)),
            signature=models.infer_signature(
                example, as_column(example_prediction(batch.predictor))
            ),
            input_example=example,
            pip_requirements=requirements(),
        )
    return target


def pyfunc_model():
    """The mlflow.pyfunc.PythonModel the model file sets: it loads the Predictor once
    from the config and artifacts saved with the model."""
    pyfunc = extra_module("mlflow.pyfunc", "mlflow")

    class PredictorModel(pyfunc.PythonModel):
        """The package's Predictor, loaded once: a table in, a prediction a row out."""

        def load_context(self, context):
            self.batch = saved_predictor(context.artifacts)

        def predict(self, context, model_input, params=None):
            return predict_rows(self.batch, model_input)

    return PredictorModel()


def saved_predictor(artifacts: dict[str, str]) -> BatchPredictor:
    """The BatchPredictor of the model's saved config.toml, its paths (the artifacts
    folder...) pointing at the copies saved with the model."""
    paths = {key: value for key, value in artifacts.items() if key != CONFIG_ARTIFACT}
    return BatchPredictor(artifacts[CONFIG_ARTIFACT], **paths)


def predict_rows(batch: BatchPredictor, model_input):
    """One prediction per row of a table (the input's columns, or one column of values),
    or of an array given as it is."""
    if hasattr(model_input, "columns"):
        return batch.predict(model_input)
    return batch.predictor.predict(conform(model_input, batch.spec))


def as_column(values):
    """One value a row as a column (a pandas Series) for the signature, whose output is
    then a column of a type Spark knows (strings too), not a tensor of objects (which
    spark_udf refuses) nor of one-value rows; a row of several values stays as it is."""
    import numpy
    import pandas

    array = numpy.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if array.ndim != 1:
        return values
    return pandas.Series(array)


def input_example(spec: dict):
    """The recorded example row as the model takes it: a one-row table of the input's
    columns, or of one column of values; a one-row array for an array input."""
    import pandas

    example = spec.get("example")
    if spec.get("type") == "numpy.ndarray":
        return conform([example], spec)
    if "columns" in spec:
        return pandas.DataFrame([example], columns=[c["name"] for c in spec["columns"]])
    return pandas.DataFrame({INPUT_COLUMN: [example]})


def config_file(path=None) -> Path:
    """The config.toml load_settings reads: `path`, $NAME_CONFIG or the default."""
    return Path(
        path or os.environ.get(f"{config.ENV_PREFIX}CONFIG") or config.default_config()
    )


def model_artifacts(settings, config_path: Path) -> dict[str, str]:
    """What the model carries: config.toml and each serving path that exists (the
    artifacts folder...), by setting name."""
    paths = {
        key: getattr(settings, key)
        for key in sorted(config.PATH_KEYS & config.TABLES["serving"])
        if Path(getattr(settings, key)).exists()
    }
    return {CONFIG_ARTIFACT: str(config_path), **paths}


def package_code(staging: Path) -> Path:
    """A copy of the package's modules (not its bundled config and artifacts, which the
    model carries as artifacts) for the model's code_paths."""
    source = Path(__file__).resolve().parent
    copy = staging / "code" / PACKAGE
    shutil.copytree(
        source, copy, ignore=shutil.ignore_patterns("bundled", "__pycache__")
    )
    return copy


def model_file(staging: Path) -> Path:
    path = staging / MODEL_FILE
    path.write_text(MODEL_CODE.format(package=PACKAGE), encoding="utf-8")
    return path


def requirements() -> list[str] | None:
    """The package's own pinned dependencies (installed metadata, else the project's
    pyproject.toml); None lets MLflow infer them."""
    declared: list[str] | None
    try:
        declared = metadata.requires(PACKAGE) or []
    except metadata.PackageNotFoundError:
        declared = project_dependencies()
    if declared is None:
        return None
    return [requirement for requirement in declared if "extra ==" not in requirement]


def project_dependencies() -> list[str] | None:
    pyproject = config.PROJECT_ROOT / "pyproject.toml"
    if not pyproject.exists():
        return None
    document = config.tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return document.get("project", {}).get("dependencies")
