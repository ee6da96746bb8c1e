"""`nbextract analyze` and `nbextract graph`: their output, and one-line errors with exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nbextract.cli import main

NBEXTRACT = Path(sys.executable).with_name("nbextract")

CELLS = [
    ("# Churn model", (), "markdown"),
    "%matplotlib inline\nimport numpy as np",
    "X = np.zeros((3, 2))\ny = np.ones(3)",
    ("model = Model()\nmodel.fit(X, y)", ("nbextract:train",)),
    "pred = model.predict(X)",
]


@pytest.fixture
def notebook(make_notebook):
    return make_notebook(CELLS, name="churn.ipynb")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_prints_defines_reads_depends(capsys, notebook):
    code, out, err = run(capsys, "analyze", str(notebook))
    assert (code, err) == (0, "")
    blocks = out.split("\n[")
    assert blocks[0].startswith("[0] cell 2, line 2: import numpy as np\n")
    assert "    defines: np\n    reads:   -\n    depends: -" in blocks[0]
    assert "[4] cell 4, line 2: model.fit(X, y)\n    defines: model\n    reads:   X, model, y\n" in out
    assert "    depends: X<-cell 3, line 1, model<-cell 4, line 1, y<-cell 3, line 2" in out
    assert "[5] cell 5, line 1: pred = model.predict(X)\n" in out
    assert "depends: X<-cell 3, line 1, model<-cell 4, line 2" in out
    assert "magic %matplotlib (cell 2, line 1): dropped" in out


def test_analyze_reports_star_import_finding(capsys, make_notebook):
    code, out, _ = run(capsys, "analyze", str(make_notebook(["from math import *", "r = sqrt(2)"])))
    assert code == 0
    assert "finding: star import (cell 1, line 1)" in out


def test_graph_json(capsys, notebook):
    code, out, err = run(capsys, "graph", str(notebook), "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["source"] == str(notebook)
    assert [node["id"] for node in data["nodes"]] == [0, 1, 2, 3, 4, 5]
    assert {"id", "origin", "label", "defines", "reads"} <= set(data["nodes"][0])
    assert data["nodes"][4] == {
        "id": 4,
        "origin": "cell 4, line 2",
        "label": "model.fit(X, y)",
        "defines": ["model"],
        "reads": ["X", "model", "y"],
    }
    edges = {(edge["from"], edge["to"], name) for edge in data["edges"] for name in edge["names"]}
    assert edges == {
        (0, 1, "np"),
        (0, 2, "np"),
        (1, 4, "X"),
        (2, 4, "y"),
        (3, 4, "model"),
        (4, 5, "model"),
        (1, 5, "X"),
    }


def test_graph_mermaid(capsys, notebook):
    code, out, _ = run(capsys, "graph", str(notebook), "--format", "mermaid")
    assert code == 0
    assert out.startswith("flowchart")
    assert '    s4["cell 4, line 2: model.fit(X, y)"]' in out
    assert "    s3 -->|model| s4" in out


def test_graph_mermaid_is_the_default(capsys, notebook):
    assert run(capsys, "graph", str(notebook)) == run(capsys, "graph", str(notebook), "--format", "mermaid")


def test_graph_dot(capsys, notebook):
    code, out, _ = run(capsys, "graph", str(notebook), "--format", "dot")
    assert code == 0
    assert out.startswith("digraph")
    assert out.rstrip().endswith("}")
    assert 's4 -> s5 [label="model"];' in out


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("empty.py", "", id="empty-script"),
        pytest.param("comments.py", "# only a comment\n", id="comment-only-script"),
        pytest.param("md.py", "# %% [markdown]\n# Text only\n", id="markdown-only-percent"),
    ],
)
def test_sources_without_statements(capsys, tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    code, out, err = run(capsys, "graph", str(path), "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"source": str(path), "nodes": [], "edges": []}
    assert run(capsys, "analyze", str(path))[:2] == (0, "\n")


def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    files = {
        "non-utf8.py": b"x = '\xe9'\n",
        "truncated.ipynb": b'{"cells": [',
        "not-a-notebook.ipynb": b'{"name": "x", "version": "1.0"}',
        "notes.txt": b"x = 1\n",
        "syntax.py": b"x = 1\ny = (\n",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(content)
    paths["missing.ipynb"] = tmp_path / "missing.ipynb"
    return paths


BAD = ["non-utf8.py", "truncated.ipynb", "not-a-notebook.ipynb", "notes.txt", "syntax.py", "missing.ipynb"]


def assert_one_line_error(err: str, path: Path) -> None:
    assert err.startswith(f"nbextract: {path}")
    assert err.endswith("\n") and err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["analyze"], ["graph", "--format", "json"]], ids=["analyze", "graph"])
@pytest.mark.parametrize("name", BAD)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, name, command):
    path = bad_inputs(tmp_path)[name]
    code, out, err = run(capsys, *command, str(path))
    assert code == 2
    assert out == ""
    assert_one_line_error(err, path)


def test_broken_cell_is_a_finding_named_by_cell_and_line(capsys, make_notebook):
    path = make_notebook(["x = 1", "y = (x"])
    code, out, _ = run(capsys, "analyze", str(path))
    assert code == 0
    assert "finding: syntax error (cell 2, line 1): syntax error" in out


@pytest.mark.parametrize("name", ["truncated.ipynb", "syntax.py"])
def test_console_script_bad_input(tmp_path, name):
    path = bad_inputs(tmp_path)[name]
    result = subprocess.run(
        [str(NBEXTRACT), "analyze", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert_one_line_error(result.stderr, path)


def test_console_script_graph_json(notebook):
    result = subprocess.run(
        [str(NBEXTRACT), "graph", str(notebook), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["nodes"]) == 6


def test_directory_source_is_one_line_error(capsys, tmp_path):
    code, _, err = run(capsys, "analyze", str(tmp_path))
    assert code == 2
    assert_one_line_error(err, tmp_path)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["graph", "x.ipynb", "--format", "svg"], id="bad-format"),
        pytest.param(["analyze"], id="missing-source"),
        pytest.param(["analyze", "x.ipynb", "--bogus"], id="unknown-option"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("nbextract: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_analyze_ranks_the_prediction_candidates_with_reasons_and_names_the_boundaries(capsys, make_notebook):
    cells = [
        "import numpy as np\nfrom sklearn.metrics import accuracy_score",
        "X = np.zeros((3, 2))\ny = np.ones(3)",
        ("model = Model()\nmodel.fit(X, y)", ("nbextract:train",)),
        "X_new = np.ones((2, 2))\nlabels = model.predict(X_new)",
        "print(accuracy_score(y, model.predict(X)))",
    ]
    code, out, _ = run(capsys, "analyze", str(make_notebook(cells)))
    ranking = out[out.index("prediction candidates, best first") :].splitlines()
    assert code == 0
    assert ranking[1] == "  1. cell 4, line 2: labels = model.predict(X_new) (calls a predict method; kept: assigned)"
    assert ranking[2] == "  2. cell 5, line 1: y_pred = model.predict(X) (calls a predict method; only scored or checked: nested in a metric call or a check)"
    assert ranking[3] == "boundaries: input X_new (cell 4, line 1) -> output labels (cell 4, line 2)"


def test_analyze_says_when_there_is_no_candidate(capsys, make_notebook):
    code, out, _ = run(capsys, "analyze", str(make_notebook(["x = 1"])))
    assert code == 0
    assert out.endswith("prediction candidates: none (tag the inference cell nbextract:infer or pass --output VAR)\n")
