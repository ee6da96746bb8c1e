"""The core promise: convert a sample, train, and predict() equals what the sample itself computed.

Each sample is run in one temporary copy of sample_notebooks/ (its relative data paths resolve as for its author) and its
input and output values are captured from that real run; the package is generated from another, pristine copy (so the
training script cannot lean on files the run left behind), given the training data its README asks for, trained with
its own training script and asked to predict in a fresh process started in a third folder.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sample_cases import SAMPLE_CASES

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notebooks"
BIN = Path(sys.executable).parent
PREDICT = """
import pickle, sys
from importlib import import_module
package = import_module(sys.argv[1])
with open(sys.argv[2], "rb") as handle:
    value = pickle.load(handle)
result = package.Predictor.from_config().predict(value)
with open(sys.argv[3], "wb") as handle:
    pickle.dump(result, handle)
"""
FORBIDDEN_IN_SRC = ("matplotlib", "plt.", "seaborn", "print(", "display(", "accuracy_score", "classification_report")

pytestmark = pytest.mark.e2e


def run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def assert_equivalent(got, want, floats: bool, rtol: float = 1e-6) -> None:
    """Exact for labels, integers and strings; `rtol` relative for floats (1e-6 unless the case says otherwise)."""
    got_array, want_array = np.asarray(got), np.asarray(want)
    assert got_array.shape == want_array.shape
    if floats or want_array.dtype.kind in "fc":
        np.testing.assert_allclose(got_array.astype(float), want_array.astype(float), rtol=rtol, atol=0)
    else:
        assert got_array.tolist() == want_array.tolist()


def sample_copies(folder: Path) -> Path:
    """`folder` with two copies of the samples: run/ for their own run, samples/ to convert."""
    for copy in ("run", "samples"):
        shutil.copytree(SAMPLES, folder / copy, ignore=shutil.ignore_patterns("models", "artifacts", "__pycache__"))
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return sample_copies(tmp_path_factory.mktemp("e2e"))


def source_values(case: dict, workspace: Path) -> dict:
    """The input and output values of the sample's own run, captured (once) from its copy in run/."""
    original = workspace / "run" / case["file"]
    captured = workspace / f"{original.stem}.pickle"
    if not captured.exists():
        capture = [sys.executable, str(ROOT / "tests" / "capture_source.py"), str(original), str(captured)]
        run([*capture, case["input"], case["output"]], original.parent)
    with open(captured, "rb") as handle:
        return pickle.load(handle)


def trained(source: Path, out: Path, workspace: Path, *flags: str) -> None:
    """`source` converted into `out` (with `flags`), given its training data and trained by its own script."""
    run([str(BIN / "nbextract"), "convert", str(source), "-o", str(out), "--force", *flags], workspace)
    put_training_data(out, source.parent)
    if (out / "training" / "train.py").exists():
        run([sys.executable, "training/train.py"], out)


def predicting(out: Path, name: str, value, elsewhere: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """`Predictor.from_config().predict(value)` of the package in `out`, in a fresh process started in `elsewhere`
    (batches of 7 rows); the process and its environment. Its result is in elsewhere/result.pickle."""
    elsewhere.mkdir(exist_ok=True)
    with open(elsewhere / "input.pickle", "wb") as handle:
        pickle.dump(value, handle)
    env = {**os.environ, "PYTHONPATH": str(out / "src"), f"{name.upper()}_BATCH_SIZE": "7"}
    args = [sys.executable, "-c", PREDICT, name, "input.pickle", "result.pickle"]
    return subprocess.run(args, cwd=elsewhere, capture_output=True, text=True, env=env, timeout=600), env


def predicted(out: Path, name: str, value, elsewhere: Path) -> tuple[object, dict]:
    """What the package in `out` predicts for `value` in a fresh process, and the environment it ran with."""
    result, env = predicting(out, name, value, elsewhere)
    assert result.returncode == 0, f"predicting failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    with open(elsewhere / "result.pickle", "rb") as handle:
        return pickle.load(handle), env


@pytest.mark.parametrize("case", SAMPLE_CASES, ids=[case["file"] for case in SAMPLE_CASES])
def test_convert_train_predict_equals_source(case, workspace):
    source = workspace / "samples" / case["file"]
    name = source.stem
    out = workspace / "out" / name
    values = source_values(case, workspace)

    trained(source, out, workspace)
    manifest = json.loads((out / "nbextract.json").read_text())
    assert manifest["inputs"][0]["name"] == case["input"]
    assert manifest["outputs"][0]["name"] == case["output"]

    result, env = predicted(out, name, values[case["input"]], workspace / f"elsewhere-{name}")
    assert_equivalent(result, values[case["output"]], case.get("float_output", False), case.get("rtol", 1e-6))

    check_generated_source(out / "src" / name)
    check_no_secret_anywhere(out, case["secrets"])
    run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], out, env)
    run([str(BIN / "black"), "--check", "--quiet", "."], out)
    run([str(BIN / "isort"), "--check-only", "--profile", "black", "--quiet", "."], out)
    run([str(BIN / "pylint"), "-E", "--disable=import-error", "src", "training"], out, env)


def test_a_package_converted_with_skops_loads_its_model_through_skops_and_predicts_what_the_source_computed(workspace):
    case = next(case for case in SAMPLE_CASES if case["file"] == "churn_column_transformer.ipynb")
    source = workspace / "samples" / case["file"]
    name, out = source.stem, workspace / "out-skops" / source.stem
    values = source_values(case, workspace)

    trained(source, out, workspace, "--skops")
    described = json.loads((out / "nbextract.json").read_text())["artifacts"]
    assert described == [{"variable": "model", "path": "artifacts/model.skops", "format": "skops"}]
    assert "skops==" in (out / "pyproject.toml").read_text()
    entry = {entry["path"]: entry for entry in json.loads((out / "artifacts" / "manifest.json").read_text())["files"]}["model.skops"]
    assert entry["format"] == "skops" and entry["trusted"] == ["numpy.dtype"] and "skops" in entry["libraries"]
    assert not (out / "artifacts" / "model.joblib").exists()

    result, env = predicted(out, name, values[case["input"]], workspace / f"elsewhere-skops-{name}")
    assert_equivalent(result, values[case["output"]], case.get("float_output", False))
    check_generated_source(out / "src" / name)
    run([str(BIN / "pylint"), "-E", "--disable=import-error", "src", "training"], out, env)

    content = bytearray((out / "artifacts" / "model.skops").read_bytes())
    content[len(content) // 2] ^= 1
    (out / "artifacts" / "model.skops").write_bytes(bytes(content))
    refused, _ = predicting(out, name, values[case["input"]], workspace / f"elsewhere-skops-{name}")
    assert refused.returncode != 0
    assert "model.skops: sha256 differs from the manifest" in refused.stderr.strip().splitlines()[-1]


CLIPPED_IRIS = """\
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer


def clipped(values):
    return np.clip(values, 0, 6)


X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
clf = make_pipeline(FunctionTransformer(clipped), LogisticRegression(max_iter=300)).fit(X_train, y_train)
y_pred = clf.predict(X_test)
"""


def test_a_skops_package_whose_model_holds_a_function_of_the_source_saves_it_with_joblib_and_predicts(tmp_path):
    """The fallback through the package: training says why in one line, the manifest names clf.joblib, loading follows it."""
    source = tmp_path / "clipped_iris.py"
    source.write_text(CLIPPED_IRIS)
    values: dict = {}
    exec(compile(CLIPPED_IRIS, str(source), "exec"), values)
    out = tmp_path / "out"
    run([str(BIN / "nbextract"), "convert", str(source), "-o", str(out), "--skops"], tmp_path)
    training = run([sys.executable, "training/train.py"], out)
    why = "clf.skops: saved as clf.joblib with joblib, not skops: type clipped_iris.helpers.clipped is not from sklearn, numpy, scipy"
    assert why in training.stderr.splitlines()
    files = {entry["path"]: entry["format"] for entry in json.loads((out / "artifacts" / "manifest.json").read_text())["files"]}
    assert files["clf.joblib"] == "joblib" and "clf.skops" not in files and not (out / "artifacts" / "clf.skops").exists()
    result, _ = predicted(out, "clipped_iris", values["X_test"], tmp_path / "elsewhere")
    assert_equivalent(result, values["y_pred"], floats=False)


def training_data(readme: str) -> list[str]:
    """The files the README's "Training data" section says to put in the project (first column of its table)."""
    if "## Training data" not in readme:
        return []
    section = readme.split("## Training data", 1)[1].split("\n## ", 1)[0]
    return [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]


def put_training_data(out: Path, source_folder: Path) -> None:
    """What the receiving engineer does: each data file the README names, put where it says, from where the source
    read it (relative paths: the source's folder)."""
    for path in training_data((out / "README.md").read_text()):
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source_folder / path, out / path)


def check_no_secret_anywhere(out: Path, secrets: list[str]) -> None:
    """No planted secret, nor its last 8 characters, in any file of the project (artifacts and tests included)."""
    assert secrets, "every sample plants at least one secret"
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                for piece in {secret, secret[-8:]}:
                    assert piece.encode() not in data, f"{path.relative_to(out)} holds a planted secret"


def check_generated_source(package: Path) -> None:
    """Modules hold functions, not top-level script code; no plotting, printing or metrics survive."""
    for module in package.glob("*.py"):
        text = module.read_text()
        for word in FORBIDDEN_IN_SRC:
            assert word not in text, f"{module.name} contains {word!r}"
        for node in ast.parse(text).body:
            assert isinstance(node, ALLOWED_TOP_LEVEL), f"{module.name}:{node.lineno} top-level {type(node).__name__}"
            if isinstance(node, ast.Expr):
                assert isinstance(node.value, ast.Constant), f"{module.name}:{node.lineno} top-level expression"
            if isinstance(node, ast.If):
                assert "__name__" in ast.unparse(node.test), f"{module.name}:{node.lineno} top-level if"


ALLOWED_TOP_LEVEL = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.Try,
    ast.If,
    ast.Expr,
)
