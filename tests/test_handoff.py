"""The receiving engineer's path (contract, "Installed and moved"): convert a sample, move the project to another
folder, `pip install` it (not editable) into a fresh venv, put the training data where its README says, train,
reinstall, and predict from a third folder through the API and `python -m NAME predict`, with no variable set; then
the generated CI's checks (ruff, `pylint -E`, pytest) pass in that venv.

One sample of each kind: a tabular frame, text, a torch model. torch comes from the CPU wheel on disk
(`torch==2.13.0`, as the project's own test dependency).
"""

from __future__ import annotations

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
from test_end_to_end import PREDICT, assert_equivalent, put_training_data, sample_copies

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KINDS = {"tabular": "churn_column_transformer.ipynb", "text": "text_tfidf_sentiment.ipynb", "torch": "wine_torch_mlp.ipynb"}
EXTRA_REQUIREMENTS = {"torch": ["torch==2.13.0"]}
CASES = {case["file"]: case for case in SAMPLE_CASES}
CI_TOOLS = ["ruff", "pylint"]

pytestmark = pytest.mark.e2e


def run(args: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def clean_environment(package: str) -> dict:
    """The environment of a new shell: no PYTHONPATH, no virtualenv of ours, no setting of the package."""
    prefix = f"{package.upper()}_"
    kept = {key: value for key, value in os.environ.items() if not key.startswith(prefix)}
    for key in ("PYTHONPATH", "VIRTUAL_ENV"):
        kept.pop(key, None)
    return kept


def write_input(value, folder: Path) -> Path:
    """The input as a user hands it to `python -m NAME predict`: a frame or series as csv, an array as npy."""
    if hasattr(value, "to_frame"):
        value = value.to_frame()
    if hasattr(value, "to_csv"):
        path = folder / "input.csv"
        value.to_csv(path, index=False)
    elif isinstance(value, np.ndarray):
        path = folder / "input.npy"
        np.save(path, value, allow_pickle=False)
    else:
        path = folder / "input.json"
        path.write_text(json.dumps(value))
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return sample_copies(tmp_path_factory.mktemp("handoff"))


@pytest.mark.parametrize("kind", KINDS)
def test_installed_moved_project_trains_predicts_and_passes_its_ci(kind, workspace):
    case = CASES[KINDS[kind]]
    name = Path(case["file"]).stem
    captured = workspace / f"{name}.pickle"
    original = workspace / "run" / case["file"]
    run([sys.executable, ROOT / "tests" / "capture_source.py", original, captured, case["input"], case["output"]], original.parent)
    values = pickle.loads(captured.read_bytes())

    converted = workspace / "converted" / name
    run([BIN / "nbextract", "convert", workspace / "samples" / case["file"], "-o", converted, "--force"], workspace)
    out = workspace / "moved" / name
    out.parent.mkdir(exist_ok=True)
    shutil.move(converted, out)
    put_training_data(out, workspace / "samples")

    venv = workspace / f"venv-{kind}"
    run([sys.executable, "-m", "venv", venv], workspace)
    python = venv / "bin" / "python"
    env = clean_environment(name)
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, f"./{name}", *EXTRA_REQUIREMENTS.get(kind, [])], out.parent, env)
    run([*pip, "-r", "training/requirements.txt"], out, env)
    run([python, "training/train.py"], out, env)
    run([*pip, f"./{name}"], out.parent, env)

    elsewhere = workspace / f"elsewhere-{name}"
    elsewhere.mkdir()
    (elsewhere / "input.pickle").write_bytes(pickle.dumps(values[case["input"]]))
    run([python, "-c", PREDICT, name, "input.pickle", "result.pickle"], elsewhere, env)
    want, floats, rtol = values[case["output"]], case.get("float_output", False), case.get("rtol", 1e-6)
    assert_equivalent(pickle.loads((elsewhere / "result.pickle").read_bytes()), want, floats, rtol)
    given = write_input(values[case["input"]], elsewhere)
    run([python, "-m", name, "predict", given.name, "--output", "result.json"], elsewhere, env)
    assert_equivalent(json.loads((elsewhere / "result.json").read_text()), want, floats, rtol)

    run([*pip, ".[test]", *CI_TOOLS], out, env)
    run([venv / "bin" / "ruff", "check", "."], out, env)
    run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], out, env)
    check_pylint_errors(venv, out, env)


def check_pylint_errors(venv: Path, out: Path, env: dict) -> None:
    """`pylint -E src training` as the generated CI runs it."""
    result = subprocess.run([venv / "bin" / "pylint", "-E", "src", "training"], cwd=out, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:]
