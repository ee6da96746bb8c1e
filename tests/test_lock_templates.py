"""The lock files of a generated project as rendered (issue 22): requirements.in holds the environment as installed
when converting, lock.sh locks it with hashes, the Dockerfile and CI install from the locks, CI audits them,
Dependabot watches them; a torch project locks and installs torch from its CPU wheels. No network: rendering only."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbextract import context, graph, magics, read, render, rewrite, slice
from nbextract.dependencies import environment
from nbextract.options import Options

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"table": "churn_column_transformer.ipynb", "torch": "wine_torch_mlp.ipynb"}


@pytest.fixture(scope="module", params=sorted(SAMPLES))
def project(request) -> tuple[str, dict, dict[str, str]]:
    source = ROOT / "sample_notebooks" / SAMPLES[request.param]
    options = Options(source=source, output=source.parent / "unused")
    document = read.read(source)
    planned = slice.plan(graph.build(document, magics.normalise(document)), options)
    data = context.build(planned, rewrite.rewrite(planned), options)
    return request.param, data, render.render(data)


def test_requirements_in_pins_the_dependencies_and_everything_they_require(project):
    _, data, files = project
    lines = [line for line in files["requirements.in"].splitlines() if line and not line.startswith("#")]
    assert lines[: len(data["dependencies"])] == data["dependencies"]
    assert set(environment(data["dependencies"])) <= set(lines) and "numpy" not in lines
    assert "fastapi>=0.110" in lines and all("==" in line for line in lines if not line.startswith(("fastapi", "uvicorn", "prometheus")))


def test_lock_sh_locks_both_environments_with_hashes_and_no_local_index(project):
    kind, _, files = project
    script = files["lock.sh"]
    assert script.startswith("#!/bin/sh\n") and "python -m uv pip compile" in script and "--no-emit-index-url" in script
    assert "--generate-hashes --universal --python-version" in script
    assert "--output-file requirements.txt requirements.in\n" in script
    assert "--output-file training/requirements.lock.txt requirements.in training/requirements.txt\n" in script
    assert ('"${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"' in script) == (kind == "torch")


def test_the_image_and_ci_install_from_the_locks_and_ci_audits_them(project):
    kind, _, files = project
    dockerfile, ci = files["Dockerfile"], files[".github/workflows/ci.yml"]
    index = ' --extra-index-url "$TORCH_INDEX"' if kind == "torch" else ""
    assert f"RUN pip install --require-hashes{index} -r requirements.txt\n" in dockerfile
    assert "RUN pip install --no-deps . &&" in dockerfile
    assert "pip install --require-hashes -r requirements.txt" in ci and "pip install --no-deps -e ." in ci
    assert "pip install --require-hashes -r training/requirements.lock.txt" in ci
    assert "pip-audit --disable-pip -r requirements.txt -r training/requirements.lock.txt" in ci
    assert "is missing: run sh lock.sh" in ci
    dependabot = files[".github/dependabot.yml"]
    assert 'directory: "/"' in dependabot and 'directory: "/training"' in dependabot
