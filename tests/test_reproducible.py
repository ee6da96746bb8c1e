"""Issue 22, reproducible and auditable, for real on the churn sample: training writes versioned artifact sets, a
tampered artifact is refused, an older set predicts again (rollback), training records the source's evaluation, the
code carries one provenance comment per block and none of the source's commented-out code (tests/test_left_out_comments.py
checks they are listed for CONVERSION.md); the lock installs in a
fresh venv and pip-audit reads it against a local advisory fixture (skipped, with the reason, without an index).

One conversion and two trainings for the module; the lock test makes its own venvs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import venv
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "sample_notebooks" / "churn_column_transformer.ipynb"
NAME = "churn_column_transformer"
PREFIX = f"{NAME.upper()}_"

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Project:
    out: Path
    elsewhere: Path
    old: str
    new: str


def run(args: list, cwd: Path, env: dict | None = None, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{' '.join(map(str, args))}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def package_env(out: Path, **variables: str) -> dict:
    kept = {key: value for key, value in os.environ.items() if not key.startswith(PREFIX)}
    return {**kept, "PYTHONPATH": str(out / "src"), **variables}


def version(out: Path) -> str:
    return json.loads((out / "artifacts" / "manifest.json").read_text())["version"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    """The churn sample converted, trained on 60% of its rows (the old set), then as the source trains (the new)."""
    folder = tmp_path_factory.mktemp("reproducible")
    out, elsewhere = folder / NAME, folder / "elsewhere"
    elsewhere.mkdir()
    run([Path(sys.executable).parent / "nbextract", "convert", SOURCE, "-o", out], ROOT)
    run([sys.executable, "training/train.py"], out, package_env(out, **{f"{PREFIX}TEST_SIZE": "0.4"}))
    old = version(out)
    run([sys.executable, "training/train.py"], out, package_env(out))
    rows = [line.split(",")[1:-1] for line in (out / "data" / "churn.csv").read_text().splitlines()[:21]]
    (elsewhere / "input.csv").write_text("".join(",".join(row) + "\n" for row in rows))
    return Project(out, elsewhere, old, version(out))


def test_each_training_is_a_version_with_a_manifest_of_every_file(project):
    manifest = json.loads((project.out / "artifacts" / "manifest.json").read_text())
    assert project.old != project.new and manifest["version"] == project.new
    files = {entry["path"]: entry for entry in manifest["files"]}
    assert set(files) == {"model.joblib", "input_profile.json", "metrics.json"}
    assert files["model.joblib"]["format"] == "joblib" and set(files["model.joblib"]["libraries"]) == {"joblib", "scikit-learn"}
    old = project.out / "artifacts" / "versions" / project.old
    assert {path.name for path in old.iterdir()} == {"model.joblib", "input_profile.json", "metrics.json", "manifest.json"}
    info = json.loads(run([sys.executable, "-m", NAME, "info"], project.elsewhere, package_env(project.out)).stdout)
    assert info["model_version"] == project.new and info["versions"] == [project.old, project.new]


def test_a_tampered_artifact_is_refused_in_one_line(project, tmp_path):
    copy = tmp_path / NAME
    shutil.copytree(project.out, copy)
    model = copy / "artifacts" / "model.joblib"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    result = run([sys.executable, "-m", NAME, "predict", "input.csv"], project.elsewhere, package_env(copy), check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"{model}: sha256 differs from the manifest (version {project.new}); refusing to load it\n"


ROLLBACK = """
import json, sys
import joblib, pandas
from {name} import Predictor
from {name}.artifacts import root_of
from {name}.serve import create_app
from fastapi.testclient import TestClient

rows = pandas.read_csv("input.csv")
predictor = Predictor.from_config()
folder = root_of(__import__("pathlib").Path(predictor.settings.artifacts_dir))
by_set = {{v: joblib.load(folder / "versions" / v / "model.joblib" if (folder / "versions" / v).exists() else folder / "model.joblib").predict_proba(rows)[:, 1].tolist() for v in sys.argv[1:]}}
proba = predictor.artifacts["model"].predict_proba(rows)[:, 1].tolist()
with TestClient(create_app(predictor)) as client:
    metadata = client.get("/v2/models/{name}").json()
print(json.dumps({{"loaded": [v for v, p in by_set.items() if p == proba], "predicted": predictor.predict(rows).tolist(),
                  "expected": predictor.artifacts["model"].predict(rows).tolist(), "metadata": metadata}}))
"""


@pytest.mark.parametrize("chosen", ["old", "new"])
def test_a_model_version_selects_the_set_predictions_load(project, chosen):
    wanted = getattr(project, chosen)
    env = package_env(project.out, **({f"{PREFIX}MODEL_VERSION": project.old} if chosen == "old" else {}))
    script = ROLLBACK.format(name=NAME)
    answer = json.loads(run([sys.executable, "-c", script, project.old, project.new], project.elsewhere, env).stdout)
    assert answer["loaded"] == [wanted] and answer["predicted"] == answer["expected"]
    assert answer["metadata"]["version"] == wanted and answer["metadata"]["versions"] == [project.old, project.new]


def test_an_unknown_version_is_one_line_naming_those_there_are(project):
    env = package_env(project.out, **{f"{PREFIX}MODEL_VERSION": "20200101T000000Z-000000000000"})
    result = run([sys.executable, "-m", NAME, "predict", "input.csv"], project.elsewhere, env, check=False)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert f"there are: {project.old}, {project.new}" in result.stderr


def test_training_records_the_source_evaluation_and_the_model_card_names_it(project):
    metrics = json.loads((project.out / "artifacts" / "metrics.json").read_text())
    assert set(metrics) == {"accuracy_score", "roc_auc_score"} and all(0 < value <= 1 for value in metrics.values())
    readme = (project.out / "README.md").read_text()
    assert "metrics:\n  - accuracy_score\n  - roc_auc_score\n" in readme
    assert "| accuracy_score | after training: artifacts/metrics.json | cell 30, line 1 |" in readme


def test_the_code_has_a_comment_per_block_and_none_of_the_commented_out_code(project):
    train = (project.out / "training" / "train.py").read_text()
    assert "wandb" not in train and "# cell 19, lines 1-9\n" in train and "# cell 19, line 2\n" not in train
    assert "X_train, _, y_train, _ = train_test_split(" not in train, "the evaluation training replays reads the test split"


ADVISORIES = {("joblib", "1.6.0"): {"id": "FIXTURE-2026-0001", "summary": "a planted advisory", "affected": [
    {"package": {"name": "joblib", "ecosystem": "PyPI"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9.9.9"}]}]}]}}


class Advisories(BaseHTTPRequestHandler):
    """A local OSV query endpoint answering from ADVISORIES (pip-audit --osv-url)."""

    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        found = ADVISORIES.get((query["package"]["name"], query["version"]))
        body = json.dumps({"vulns": [found]} if found else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def advisory_server():
    server = HTTPServer(("127.0.0.1", 0), Advisories)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/query"
    server.shutdown()


def new_venv(folder: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(folder)
    return folder / "bin"


def test_the_lock_installs_in_a_fresh_venv_and_pip_audit_reads_it(project, tmp_path, advisory_server):
    tools = new_venv(tmp_path / "tools")
    installed = run([tools / "python", "-m", "pip", "install", "-q", "uv", "pip-audit"], tmp_path, check=False)
    if installed.returncode != 0:
        pytest.skip(f"no package index to lock against: pip install uv pip-audit failed ({installed.stderr.strip().splitlines()[-1:]})")
    out = tmp_path / NAME
    shutil.copytree(project.out, out)
    locked = run(["sh", "lock.sh"], out, {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}, check=False)
    if locked.returncode != 0 and "Failed to fetch" in locked.stderr:
        pytest.skip(f"no package index to lock against: {locked.stderr.strip().splitlines()[-1]}")
    assert locked.returncode == 0, locked.stderr
    lock = (out / "requirements.txt").read_text()
    pins = [line for line in (out / "requirements.in").read_text().splitlines() if "==" in line]
    assert "--hash=sha256:" in lock and "--find-links" not in lock and "file://" not in lock
    assert all(f"{canonicalize_name(pin.split('==')[0])}=={pin.split('==')[1]} " in lock for pin in pins)
    assert (out / "training" / "requirements.lock.txt").read_text().count("--hash=sha256:") >= lock.count("--hash=sha256:")
    fresh = new_venv(tmp_path / "fresh")
    clean = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith(PREFIX)}
    run([fresh / "python", "-m", "pip", "install", "-q", "--require-hashes", "-r", out / "requirements.txt"], tmp_path, clean, timeout=1800)
    run([fresh / "python", "-m", "pip", "install", "-q", "--no-deps", out], tmp_path, clean)
    predicted = run([fresh / "python", "-m", NAME, "predict", "input.csv"], project.elsewhere, clean)
    assert json.loads(predicted.stdout)
    audit = [tools / "pip-audit", "--disable-pip", "-r", out / "requirements.txt", "-s", "osv", "--osv-url", advisory_server]
    audited = run([*audit, "-f", "json", "--progress-spinner", "off"], tmp_path, check=False)
    assert audited.returncode == 1, audited.stderr
    found = {dependency["name"]: [vuln["id"] for vuln in dependency["vulns"]] for dependency in json.loads(audited.stdout)["dependencies"]}
    assert found.pop("joblib") == ["FIXTURE-2026-0001"] and "scikit-learn" in found and not any(found.values())
