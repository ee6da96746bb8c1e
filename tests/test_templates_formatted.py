"""The files the templates write on their own are already as isort and black leave them (black then takes one pass)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from nbextract import context, graph, magics, read, render, rewrite, slice
from nbextract.format import format_python
from nbextract.options import Options
from nbextract.scaffold import init_context

SAMPLES = Path(__file__).resolve().parents[1] / "sample_notebooks"
TEMPLATE_ONLY = ("config.py", "checks.py", "pipeline.py", "model.py", "__main__.py", "__init__.py", "bench.py", "test_smoke.py", "test_golden.py", "serve.py", "test_serve.py", "batch.py", "mlflow_model.py")


def long_values(data: dict) -> dict:
    """Settings past 88 columns on one line, a pretrained folder among the artifacts, fitted state read by helpers."""
    long_path = "data/" + "a_long_folder_name/" * 5 + "table.csv"
    settings = [
        *data["settings"],
        *(context.Setting(f"input_path_number_{n}", long_path, "str", f"X_PATH_{n}", "cell 1, line 1", "a path", path=True) for n in range(3)),
        context.Setting("features", [f"feature_{n}" for n in range(12)], "list", "X_FEATURES", "cell 1, line 2", "columns"),
        context.Setting("quoted", 'say "hi"', "str", "X_QUOTED", "cell 1, line 3", "a string holding quotes"),
    ]
    pretrained = {**data["artifacts"][0], "variable": "classifier", "format": "pretrained", "module": "transformers.pipeline"}
    return {**data, "settings": settings, "artifacts": [*data["artifacts"], pretrained], "helper_globals": ["scaler"]}


CASES = {
    "sklearn pipeline": ("churn_column_transformer.ipynb", dict),
    "torch state_dict, source classes": ("wine_torch_mlp.ipynb", dict),
    "whole torch object": ("breast_cancer_torch_save.ipynb", dict),
    "plain script with helpers": ("iris_training_script.py", dict),
    "percent script, several artifacts": ("fruit_label_encoder_percent.py", dict),
    "executed: golden tests": ("sensor_failure_joblib.ipynb", lambda data: {**data, "executed": True}),
    "long values": ("digits_cnn.ipynb", long_values),
    "no artifacts": ("diabetes_gridsearch.ipynb", lambda data: {**data, "artifacts": []}),
}


def converted(source: Path, out: Path) -> dict:
    """The render context `nbextract convert` builds (without --execute)."""
    options = Options(source=source, output=out)
    document = read.read(source)
    planned = slice.plan(graph.build(document, magics.normalise(document)), options)
    return context.build(planned, rewrite.rewrite(planned), options)


def assert_formatted(data: dict) -> None:
    files = {path: text for path, text in render.render(data).items() if path.endswith(TEMPLATE_ONLY)}
    assert files
    for path, text in files.items():
        formatted = format_python(text, (data["package"],))
        assert formatted == text, f"{path}:\n" + "".join(difflib.unified_diff(text.splitlines(True), formatted.splitlines(True)))


@pytest.mark.parametrize(("sample", "change"), CASES.values(), ids=CASES.keys())
def test_template_only_files_are_already_formatted(tmp_path, sample, change):
    assert_formatted(change(converted(SAMPLES / sample, tmp_path / "out")))


def test_init_project_is_already_formatted(tmp_path):
    assert_formatted(init_context("pkg", tmp_path))


BLACK_CLEAN_SOURCE = '''\
import numpy as np
from sklearn.linear_model import LogisticRegression


def scaled(a):
    return a * 2.0


class Clip:
    def __init__(self, hi):
        self.hi = hi

    def apply(self, a):
        return np.minimum(a, self.hi)


rng = np.random.default_rng(0)
X_train, y_train = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
X_test = rng.normal(size=(5, 3))


def features(a):
    return Clip(1.5).apply(scaled(a))


def jitter(a):
    return a + 0.01


model = LogisticRegression().fit(features(jitter(X_train)), y_train)
y_pred = model.predict(features(X_test))
'''


def test_code_from_a_source_in_black_style_is_already_formatted(tmp_path):
    """Blank lines around the source's defs and classes are written as black writes them (in helpers.py at module
    level, in train.py's main()), so a source already in black's style costs black one pass per file, not two."""
    source = tmp_path / "clean.py"
    source.write_text(BLACK_CLEAN_SOURCE)
    data = converted(source, tmp_path / "out")
    files = render.render(data)
    assert "def features" in files["src/clean/helpers.py"] and "    def jitter" in files["training/train.py"]
    for path in ("src/clean/helpers.py", "training/train.py", "src/clean/preprocess.py"):
        formatted = format_python(files[path], (data["package"],))
        assert formatted == files[path], f"{path}:\n" + "".join(difflib.unified_diff(files[path].splitlines(True), formatted.splitlines(True)))
