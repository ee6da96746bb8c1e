"""--execute: the source runs once; the project gets the run's fitted state, golden examples, an input spec used for
validation, drift statistics and a benchmark table in its README.

The oracle is tests/capture_source.py, which runs each sample on its own (never importing nbextract): the golden output
nbextract recorded must equal what that independent run computed, and the package must predict it with no training.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbextract.convert import convert
from nbextract.errors import ConversionError
from nbextract.options import Options
from sample_cases import SAMPLE_CASES
from test_end_to_end import PREDICT, assert_equivalent, check_no_secret_anywhere, run

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXECUTED = [
    "breast_cancer_zscore_threshold.ipynb",  # numpy array in, three pieces of fitted state
    "churn_column_transformer.ipynb",  # DataFrame with named columns in
    "text_tfidf_sentiment.ipynb",  # a Series of texts in, helpers reading fitted state
    "iris_training_script.py",  # a plain script whose flow lives in main()
    "fruit_label_encoder_percent.py",  # a percent script
    "wine_torch_mlp.ipynb",  # a torch module defined in the notebook, saved as a state_dict
]
CASES = {case["file"]: case for case in SAMPLE_CASES}

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Each sample captured by the oracle, then converted with --execute from a pristine copy (done once per module)."""
    folder = tmp_path_factory.mktemp("execute")
    for copy in ("run", "samples"):
        shutil.copytree(ROOT / "sample_notebooks", folder / copy, ignore=shutil.ignore_patterns("models", "artifacts"))
    done = {}

    def get(file: str):
        if file not in done:
            case = CASES[file]
            captured = folder / f"{Path(file).stem}.pickle"
            oracle = [sys.executable, str(ROOT / "tests" / "capture_source.py"), str(folder / "run" / file), str(captured)]
            run([*oracle, case["input"], case["output"]], folder / "run")
            out = folder / "out" / Path(file).stem
            run([str(BIN / "nbextract"), "convert", str(folder / "samples" / file), "-o", str(out), "--execute"], folder)
            with open(captured, "rb") as handle:
                done[file] = (out, pickle.load(handle), case)
        return done[file]

    return get


def golden(out: Path, name: str):
    with open(out / "tests" / "golden" / f"{name}.pkl", "rb") as handle:
        return pickle.load(handle)


def package_env(out: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(out / "src")}


@pytest.mark.parametrize("file", EXECUTED)
def test_the_run_gives_artifacts_and_golden_examples_equal_to_the_source(file, executed, tmp_path):
    out, values, case = executed(file)
    name = out.name
    assert_equivalent(golden(out, "input"), values[case["input"]], False)
    assert_equivalent(golden(out, "output"), values[case["output"]], case["float_output"])
    manifest = json.loads((out / "nbextract.json").read_text())
    for artifact in manifest["artifacts"]:
        saved = out / artifact["path"]
        assert saved.is_file() or any(saved.glob("*")), "fitted state comes from the run, without training"
    (tmp_path / "input.pickle").write_bytes(pickle.dumps(values[case["input"]]))
    run([sys.executable, "-c", PREDICT, name, "input.pickle", "result.pickle"], tmp_path, package_env(out))
    assert_equivalent(pickle.loads((tmp_path / "result.pickle").read_bytes()), values[case["output"]], case["float_output"])
    check_no_secret_anywhere(out, case["secrets"])


@pytest.mark.parametrize("file", EXECUTED)
def test_the_libraries_of_the_recorded_input_and_fitted_state_are_inference_dependencies(file, executed):
    out, _, _ = executed(file)
    pyproject = (out / "pyproject.toml").read_text()
    spec = json.loads((out / "artifacts" / "input_profile.json").read_text())["spec"]
    library = {"pandas": "pandas", "numpy": "numpy"}.get(spec["type"].split(".")[0])
    if library is not None:
        assert f'"{library}==' in pyproject, f"{spec['type']} input needs {library} at inference"
    assert "torch==2" in pyproject if "torch" in file else "torch" not in pyproject


@pytest.mark.parametrize("file", EXECUTED)
def test_the_generated_project_passes_its_tests_golden_included_and_the_linters(file, executed):
    out, _, _ = executed(file)
    result = run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"], out, package_env(out))
    assert "test_golden.py" in {path.name for path in (out / "tests").iterdir()}
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout
    run([str(BIN / "black"), "--check", "--quiet", "."], out)
    run([str(BIN / "isort"), "--check-only", "--profile", "black", "--quiet", "."], out)
    run([str(BIN / "pylint"), "-E", "--disable=import-error", "src", "training", "tests", "benchmarks"], out, package_env(out))


@pytest.mark.parametrize("file", EXECUTED)
def test_the_readme_names_input_spec_output_batch_size_benchmark_and_env_vars(file, executed):
    out, values, case = executed(file)
    readme = (out / "README.md").read_text()
    spec = json.loads((out / "artifacts" / "input_profile.json").read_text())["spec"]
    assert "Input specification, recorded from that value when the source ran" in readme
    assert f"`{spec['type']}`" in readme
    for column in spec.get("columns", []):
        assert f"`{column['name']}`" in readme
    assert f"`{case['output']}`" in readme and "Recorded output:" in readme
    assert "Recommended batch size:" in readme
    assert "| batch | p50 ms | p95 ms | rows/s | peak KiB | drift check ms |" in readme
    assert readme.count("\n| 1 |") == 1 and "\n| 32 |" in readme, "batch sizes 1, 32 and the configured one"
    read = [line.partition("=")[0] for line in (out / ".env.example").read_text().splitlines() if "=" in line and not line.startswith("#")]
    for env in read:
        assert f"`{env}`" in readme, "every secret the package reads is named (those it never reads are not)"
    assert (out / "benchmarks" / "results.md").read_text() in readme


@pytest.mark.parametrize("file", EXECUTED)
def test_the_readme_shows_the_http_server_beside_the_in_process_call(file, executed):
    """The test environment has the [serve] extra's libraries, so the run measures the server too (issue 18)."""
    out, _, _ = executed(file)
    readme = (out / "README.md").read_text()
    served = (out / "benchmarks" / "serve_results.md").read_text()
    assert served in readme
    assert "HTTP overhead, one request at a time: POST /predict p50 " in served
    for way in ("Predictor.predict, in process", "POST /predict", f"POST /v2/models/{out.name}/infer"):
        assert f"| {way} | 1 |" in served and f"| {way} | 4 |" in served
    failed = [line.split("|")[-2].strip() for line in served.splitlines() if line.startswith("| POST")]
    assert len(failed) == 4 and set(failed) == {"0"}, served


BAD_INPUTS = {
    "breast_cancer_zscore_threshold.ipynb": [
        ("X[:, :5]", "expects rows of shape (30,); got (5,)"),
        ("X.astype(str)", "expects input of dtype float64"),
        ("X.tolist()", "expects a numpy.ndarray of shape (n, 30)"),
    ],
    "churn_column_transformer.ipynb": [
        ("X.drop(columns=[X.columns[0]])", "lacks column(s)"),
        ("X.assign(**{X.columns[0]: 'text'}) if X.dtypes.iloc[0].kind in 'if' else X.assign(**{X.columns[0]: 1.5})", "expects column"),
        ("X.to_numpy()", "expects a pandas.DataFrame with columns"),
    ],
}
CHECK = """
import pickle, sys
from importlib import import_module
package = import_module(sys.argv[1])
X = pickle.load(open(sys.argv[2], "rb"))
try:
    package.Predictor.from_config().predict(eval(sys.argv[3]))
except ValueError as error:
    print(error)
"""


@pytest.mark.parametrize(
    "file, expression, message", [(f, e, m) for f, cases in BAD_INPUTS.items() for e, m in cases], ids=repr
)
def test_predict_rejects_input_unlike_the_spec_with_one_clear_error(file, expression, message, executed):
    out, _, _ = executed(file)
    golden_input = out / "tests" / "golden" / "input.pkl"
    result = run([sys.executable, "-c", CHECK, out.name, str(golden_input), expression], out, package_env(out))
    assert message in result.stdout and result.stdout.count("\n") == 1, result.stdout


DRIFT = """
import logging, pickle, sys
from importlib import import_module
logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(levelname)s %(message)s")
package = import_module(sys.argv[1])
X = pickle.load(open(sys.argv[2], "rb"))
predictor = package.Predictor.from_config()
predictor.predict(X)
print("--- shifted")
predictor.predict(X * 3 + 100)
"""


def test_drift_is_logged_for_shifted_input_and_not_for_the_recorded_input(executed):
    out, _, _ = executed("breast_cancer_zscore_threshold.ipynb")
    golden_input = out / "tests" / "golden" / "input.pkl"
    result = run([sys.executable, "-c", DRIFT, out.name, str(golden_input)], out, package_env(out))
    before, after = result.stdout.split("--- shifted")
    assert "WARNING" not in before
    assert "WARNING input drift against the training data: column" in after
    assert "and 25 more" in after, "the warning names the five worst features"


def test_the_predict_command_reads_and_writes_csv_json_and_npy(executed, tmp_path):
    import numpy as np

    out, values, case = executed("breast_cancer_zscore_threshold.ipynb")
    np.save(tmp_path / "in.npy", values[case["input"]])
    outputs = {}
    for suffix in ("json", "csv", "npy"):
        target = tmp_path / f"out.{suffix}"
        run([sys.executable, "-m", out.name, "predict", str(tmp_path / "in.npy"), "--output", str(target)], tmp_path, package_env(out))
        outputs[suffix] = target
    expected = values[case["output"]].tolist()
    assert json.loads(outputs["json"].read_text()) == expected
    assert outputs["csv"].read_text().splitlines() == ["prediction", *map(str, expected)]
    assert np.load(outputs["npy"]).tolist() == expected


def notebook(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    document = nbformat.v4.new_notebook()
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        document.cells.append(cell)
    nbformat.write(document, path)
    return path


TINY = [
    ("import numpy as np\nfrom sklearn.linear_model import LogisticRegression", []),
    ("X = np.arange(40.0).reshape(20, 2)\ny = np.array([0, 1] * 10)", []),
    ("clf = LogisticRegression().fit(X, y)", []),
    ("X_new = X[:5] + 0.5\npred = clf.predict(X_new)", []),
]


FAILING_CELLS = {
    "raises": ("raise RuntimeError('data server down')", "running the source failed: RuntimeError: data server down"),
    "kills-its-kernel": ("import os\nos._exit(3)", "the kernel died running the source"),
}


@pytest.mark.parametrize("code, message", FAILING_CELLS.values(), ids=FAILING_CELLS)
def test_a_failing_cell_is_one_error_naming_that_cell_and_nothing_is_written(tmp_path, code, message):
    source = notebook(tmp_path / "nb.ipynb", [*TINY[:2], (code, []), *TINY[2:]])
    with pytest.raises(ConversionError) as caught:
        convert(Options(source=source, output=tmp_path / "pkg", input_var="X_new", execute=True))
    assert str(caught.value).startswith(f"{source}, cell 3: {message}")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["nb.ipynb"], "no package, no run folder left"


def test_a_failing_cells_message_names_the_sources_secrets_by_their_variables_only(tmp_path):
    """Issue 16: the exception line of a failing cell was printed whole, a token and a password in it."""
    token, password = "xoxb-2817463950-5529183746-Qx7RkT2mWv9LpZ4sNb8YcHd", "Tr0ub4dor-and-3-horses"
    credentials = (f"SLACK_TOKEN = {token!r}\ndb_password = {password!r}", [])
    failing = ("raise RuntimeError(f'slack rejected token {SLACK_TOKEN} for {db_password}')", [])
    source = notebook(tmp_path / "nb.ipynb", [*TINY[:2], credentials, failing, *TINY[2:]])
    with pytest.raises(ConversionError) as caught:
        convert(Options(source=source, output=tmp_path / "pkg", input_var="X_new", execute=True))
    message = str(caught.value)
    assert "RuntimeError: slack rejected token <secret: SLACK_TOKEN> for <secret: DB_PASSWORD>" in message
    assert token[-8:] not in message and password[-8:] not in message


def test_a_threshold_from_a_settings_dict_holding_a_key_converts_and_benchmarks(tmp_path):
    """Issue 16: `CFG = {"threshold": 0.5, "wandb_api_key": "..."}` ran in the kernel, then the generated benchmark,
    run without the key in its environment, failed when postprocess read CFG["threshold"]."""
    key = "a3f9c0d1e2b3a4f5c6d7e8f9a0b1c2d3e4f5a6b7"
    cells = [
        ("from sklearn.datasets import load_breast_cancer\nfrom sklearn.linear_model import LogisticRegression", []),
        (f"CFG = {{'threshold': 0.5, 'wandb_api_key': {key!r}}}", []),
        ("X, y = load_breast_cancer(return_X_y=True)\nX_train, X_test, y_train, y_test = X[::2], X[1::2], y[::2], y[1::2]", []),
        ("clf = LogisticRegression(max_iter=5000).fit(X_train, y_train)", []),
        ("proba = clf.predict_proba(X_test)[:, 1]\npred = (proba > CFG['threshold']).astype(int)", []),
    ]
    out = tmp_path / "pkg"
    convert(Options(source=notebook(tmp_path / "nb.ipynb", cells), output=out, execute=True))
    assert "| batch |" in (out / "benchmarks" / "results.md").read_text(encoding="utf-8")
    check_no_secret_anywhere(out, [key])


def test_cells_tagged_skip_are_not_run_and_progress_is_reported_per_cell(tmp_path):
    source = notebook(tmp_path / "nb.ipynb", [*TINY[:2], ("raise SystemExit('never run me')", ["nbextract:skip"]), *TINY[2:]])
    seen = []
    convert(Options(source=source, output=tmp_path / "pkg", input_var="X_new", execute=True), progress=lambda *a: seen.append(a))
    assert [label for _, _, label in seen] == ["setup", "cell 1", "cell 2", "cell 4", "cell 5", "saving", "done"]
    assert [done for done, _, _ in seen] == list(range(len(seen)))
    assert (tmp_path / "pkg" / "artifacts" / "clf.joblib").is_file()


def test_a_script_runs_as_main_with_its_own_file_and_argv(tmp_path):
    script = tmp_path / "train_model.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\nimport numpy as np\nfrom sklearn.linear_model import LogisticRegression\n\n"
        "HERE = Path(__file__).resolve().parent\n\n\ndef main():\n    assert sys.argv == [str(HERE / 'train_model.py')]\n"
        "    X = np.arange(40.0).reshape(20, 2)\n    y = np.array([0, 1] * 10)\n    clf = LogisticRegression().fit(X, y)\n"
        "    X_new = X[:5] + 0.5\n    pred = clf.predict(X_new)\n    print(pred)\n\n\nif __name__ == '__main__':\n    main()\n"
    )
    convert(Options(source=script, output=tmp_path / "pkg", input_var="X_new", execute=True))
    assert (tmp_path / "pkg" / "artifacts" / "clf.joblib").is_file()
    oracle = [sys.executable, str(ROOT / "tests" / "capture_source.py"), str(script), str(tmp_path / "seen.pickle")]
    run([*oracle, "X_new", "pred"], tmp_path)
    seen = pickle.loads((tmp_path / "seen.pickle").read_bytes())
    assert_equivalent(golden(tmp_path / "pkg", "input"), seen["X_new"], True)
    assert_equivalent(golden(tmp_path / "pkg", "output"), seen["pred"], False)


CUSTOM_STATE = [
    ("import numpy as np\nfrom sklearn.base import BaseEstimator, TransformerMixin\nfrom sklearn.datasets import load_iris", []),
    ("from sklearn.linear_model import LogisticRegression\nfrom sklearn.pipeline import make_pipeline", []),
    (
        "class Clip(BaseEstimator, TransformerMixin):\n    def __init__(self, q=0.95):\n        self.q = q\n\n"
        "    def fit(self, X, y=None):\n        self.hi_ = np.quantile(X, self.q, axis=0)\n        return self\n\n"
        "    def transform(self, X):\n        return np.minimum(X, self.hi_)",
        [],
    ),
    ("def double(X):\n    return X * 2", []),
    ("X, y = load_iris(return_X_y=True)\nX_train, X_test, y_train, y_test = X[::2], X[1::2], y[::2], y[1::2]", []),
    ("from sklearn.preprocessing import FunctionTransformer\nmodel = make_pipeline(Clip(0.9), FunctionTransformer(double), LogisticRegression(max_iter=500))", []),
    ("model.fit(X_train, y_train)\ny_pred = model.predict(X_test)", []),
]


def test_fitted_state_holding_the_sources_own_class_and_function_loads_in_the_package(tmp_path):
    """A custom transformer and a function in a pipeline pickle as the package's helpers (not as the kernel's
    `__main__`), so the recorded model loads at inference; the package predicts what the source computed."""
    source = notebook(tmp_path / "custom.ipynb", CUSTOM_STATE)
    out = tmp_path / "pkg"
    convert(Options(source=source, output=out, execute=True))
    oracle = [sys.executable, str(ROOT / "tests" / "capture_source.py"), str(source), str(tmp_path / "seen.pickle")]
    run([*oracle, "X_test", "y_pred"], tmp_path)
    seen = pickle.loads((tmp_path / "seen.pickle").read_bytes())
    (tmp_path / "input.pickle").write_bytes(pickle.dumps(seen["X_test"]))
    run([sys.executable, "-c", PREDICT, "custom", "input.pickle", "result.pickle"], tmp_path, package_env(out))
    assert_equivalent(pickle.loads((tmp_path / "result.pickle").read_bytes()), seen["y_pred"], False)
    result = run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"], out, package_env(out))
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout
