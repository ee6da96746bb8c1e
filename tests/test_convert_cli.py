"""`nbextract convert` from the command line: the summary line, the manifest, the package name, exit statuses, what is
(and is not) left on disk, and generated Python that compiles. In process through `nbextract.cli.main`, plus one run of
the console script."""

from __future__ import annotations

import ast
import errno
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from nbextract.cli import main
from nbextract.convert import convert
from nbextract.options import Options
from nbextract.vocabulary import Step

NBEXTRACT = Path(sys.executable).with_name("nbextract")

IRIS = """\
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
clf = LogisticRegression(max_iter=500)
clf.fit(X_train, y_train)
y_pred = clf.predict(X_test)
print(y_pred)
"""

PERCENT = """\
# %% [markdown]
# # Iris, cell by cell

# %%
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

# %%
X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
clf = LogisticRegression(max_iter=500)
clf.fit(X_train, y_train)

# %%
proba = clf.predict_proba(X_test)
labels = proba.argmax(axis=1)
"""

WITH_MAIN = '''\
"""Train and evaluate an iris classifier."""
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split


def main():
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    clf = LogisticRegression(max_iter=500)
    clf.fit(X_train, y_train)
    y_pred = clf.predict(X_test)
    print("accuracy", accuracy_score(y_test, y_pred))
    return y_pred


if __name__ == "__main__":
    main()
'''

NO_PREDICTION = """\
import numpy as np

values = np.arange(10)
print(values.mean())
"""

MANIFEST_KEYS = {
    "nbextract_version",
    "package",
    "source",
    "inputs",
    "outputs",
    "artifacts",
    "config",
    "secrets",
    "statements",
    "findings",
}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by relative path, with its content."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def leftovers(parent: Path, name: str) -> list[str]:
    """Temporary or retired folders `write` builds beside OUT (`.NAME.*.tmp`, `.NAME.*.old`)."""
    return sorted(path.name for path in parent.iterdir() if path.name.startswith(f".{name}."))


def assert_one_line(text: str) -> None:
    assert text.endswith("\n") and text.count("\n") == 1, f"expected one line, got {text!r}"
    assert "Traceback" not in text


@pytest.fixture
def iris(tmp_path) -> Path:
    return write(tmp_path / "iris.py", IRIS)


# --- success ----------------------------------------------------------------------------------------------------------


def test_success_prints_one_summary_line_and_writes_the_manifest(capsys, tmp_path, iris):
    out = tmp_path / "out" / "pkg"
    code, stdout, stderr = run(capsys, "convert", iris, "-o", out)
    assert (code, stderr) == (0, "")
    assert_one_line(stdout)
    assert "input X_test, output y_pred, 1 artifact," in stdout
    assert str(out / "CONVERSION.md") in stdout
    assert leftovers(out.parent, "pkg") == []

    manifest = json.loads((out / "nbextract.json").read_text(encoding="utf-8"))
    assert set(manifest) >= MANIFEST_KEYS
    assert manifest["package"] == "iris"
    assert set(manifest["source"]) == {"path", "kind", "sha256"}
    assert manifest["source"]["kind"] == "script"
    assert manifest["source"]["sha256"] == hashlib.sha256(iris.read_bytes()).hexdigest()
    assert Path(manifest["source"]["path"]).name == "iris.py"
    assert [entry["name"] for entry in manifest["inputs"]] == ["X_test"]
    assert [entry["name"] for entry in manifest["outputs"]] == ["y_pred"]
    assert all(set(entry) == {"name", "origin"} for entry in manifest["inputs"] + manifest["outputs"])
    assert [entry["variable"] for entry in manifest["artifacts"]] == ["clf"]
    assert all({"variable", "path", "format"} <= set(entry) for entry in manifest["artifacts"])
    assert all({"key", "value", "env", "origin"} <= set(entry) for entry in manifest["config"])
    assert all(entry["env"] == f"IRIS_{entry['key'].upper()}" for entry in manifest["config"])
    assert manifest["secrets"] == []
    assert manifest["statements"] and all(set(entry) == {"origin", "stage", "reason"} for entry in manifest["statements"])
    assert {entry["stage"] for entry in manifest["statements"]} >= {"train", "infer", "dropped"}
    assert all(set(entry) == {"kind", "origin", "message"} for entry in manifest["findings"])
    assert (out / "src" / "iris" / "pipeline.py").is_file() and (out / "training" / "train.py").is_file()


def test_convert_names_each_step_as_it_starts_in_pipeline_order(tmp_path, iris):
    started: list[Step] = []
    convert(Options(source=iris, output=tmp_path / "pkg"), step=started.append)
    assert started == [Step.READ, Step.GRAPH, Step.SLICE, Step.REWRITE, Step.RENDER, Step.WRITE]


def test_manifest_keys_are_exactly_the_contract_keys(capsys, tmp_path, iris):
    assert run(capsys, "convert", iris, "-o", tmp_path / "pkg")[0] == 0
    manifest = json.loads((tmp_path / "pkg" / "nbextract.json").read_text(encoding="utf-8"))
    assert set(manifest) == MANIFEST_KEYS


def test_manifest_lists_secrets_by_kind_and_place_only(capsys, tmp_path):
    token = "ghp_" + "Zq7LmN2pR8sT4vW6xY1aB3cD5eF9gH0jK2lM"
    source = write(tmp_path / "keyed.py", f'GITHUB_TOKEN = "{token}"\n' + IRIS)
    code, stdout, stderr = run(capsys, "convert", source, "-o", tmp_path / "pkg")
    assert (code, stderr) == (0, "")
    assert token not in stdout and token[-8:] not in stdout
    manifest = json.loads((tmp_path / "pkg" / "nbextract.json").read_text(encoding="utf-8"))
    assert [set(entry) for entry in manifest["secrets"]] == [{"env", "kind", "origin"}]
    assert manifest["secrets"][0]["origin"] == "line 1"
    for path in (tmp_path / "pkg").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert token[-8:] not in text, path


@pytest.mark.parametrize(
    "text, options, summary",
    [
        (PERCENT, ["--output", "proba"], "input X_test, output proba, 1 artifact,"),
        (IRIS.replace("clf.predict(X_test)", "clf.predict(X_new)").replace("y_pred =", "X_new = X_test[:5]\ny_pred ="),
         ["--input", "X_new"], "input X_new, output y_pred, 1 artifact,"),
    ],
    ids=["output-override", "input-override"],
)
def test_boundary_overrides_reach_the_summary_and_manifest(capsys, tmp_path, text, options, summary):
    source = write(tmp_path / "flowers.py", text)
    out = tmp_path / "pkg"
    code, stdout, stderr = run(capsys, "convert", source, "-o", out, *options)
    assert (code, stderr) == (0, "")
    assert summary in stdout
    manifest = json.loads((out / "nbextract.json").read_text(encoding="utf-8"))
    assert f"input {manifest['inputs'][0]['name']}, output {manifest['outputs'][0]['name']}," in summary


@pytest.mark.parametrize(
    "filename, package",
    [
        ("My Notebook-v2.py", "my_notebook_v2"),
        ("2024 churn model.py", "nb_2024_churn_model"),
        ("class.py", "class_pkg"),
        ("numpy.py", "numpy_pkg"),
        ("sklearn.py", "sklearn_pkg"),
        ("sys.py", "sys_pkg"),
        ("test.py", "test_pkg"),
        ("Modèle_données.py", "modele_donnees"),
        ("_private_.py", "private"),
    ],
    ids=["spaces-and-dash", "leading-digit", "keyword", "installed-module", "installed-module-of-another-name",
         "standard-library", "test-runner", "non-ascii", "underscores"],
)
def test_name_defaults_to_the_source_stem_as_an_identifier(capsys, tmp_path, monkeypatch, filename, package):
    source = write(tmp_path / filename, IRIS)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, stdout, stderr = run(capsys, "convert", source)
    assert (code, stderr) == (0, "")
    assert_one_line(stdout)
    assert [path.name for path in work.iterdir()] == [package]
    assert json.loads((work / package / "nbextract.json").read_text(encoding="utf-8"))["package"] == package
    assert (work / package / "src" / package / "__init__.py").is_file()


def test_explicit_name_names_the_package_and_the_default_folder(capsys, tmp_path, monkeypatch, iris):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run(capsys, "convert", iris, "--name", "flowers")
    assert (code, stderr) == (0, "")
    assert (tmp_path / "flowers" / "src" / "flowers" / "pipeline.py").is_file()
    assert json.loads((tmp_path / "flowers" / "nbextract.json").read_text(encoding="utf-8"))["package"] == "flowers"


# --- an existing output folder ----------------------------------------------------------------------------------------


def test_existing_output_without_force_is_left_untouched(capsys, tmp_path, iris):
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "marker.txt").write_text("mine, do not touch\n", encoding="utf-8")
    before = tree(out)
    code, stdout, stderr = run(capsys, "convert", iris, "-o", out)
    assert (code, stdout) == (2, "")
    assert_one_line(stderr)
    assert "--force" in stderr and str(out) in stderr
    assert tree(out) == before
    assert leftovers(tmp_path, "pkg") == []


def test_force_replaces_the_existing_output(capsys, tmp_path, iris):
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "marker.txt").write_text("old\n", encoding="utf-8")
    code, stdout, stderr = run(capsys, "convert", iris, "-o", out, "--force")
    assert (code, stderr) == (0, "")
    assert_one_line(stdout)
    assert not (out / "marker.txt").exists()
    assert (out / "nbextract.json").is_file()
    assert leftovers(tmp_path, "pkg") == []


def test_force_does_not_replace_a_file(capsys, tmp_path, iris):
    out = write(tmp_path / "pkg", "a file, not a folder\n")
    code, _, stderr = run(capsys, "convert", iris, "-o", out, "--force")
    assert code == 2
    assert_one_line(stderr)
    assert out.read_text(encoding="utf-8") == "a file, not a folder\n"


# --- failures: exit status, one line, nothing on disk -----------------------------------------------------------------


def test_no_prediction_exits_1_and_writes_nothing(capsys, tmp_path, monkeypatch):
    source = write(tmp_path / "explore.py", NO_PREDICTION)
    monkeypatch.chdir(tmp_path)
    before = sorted(path.name for path in tmp_path.iterdir())
    code, stdout, stderr = run(capsys, "convert", source)
    assert (code, stdout) == (1, "")
    assert_one_line(stderr)
    assert stderr.startswith(f"nbextract: {source}: ")
    assert "nbextract:infer" in stderr and "--output" in stderr
    assert not (tmp_path / "explore").exists()
    assert leftovers(tmp_path, "explore") == []
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_no_prediction_with_an_output_folder_leaves_no_temporary_folder(capsys, tmp_path):
    source = write(tmp_path / "explore.py", NO_PREDICTION)
    parent = tmp_path / "built"
    parent.mkdir()
    code, _, stderr = run(capsys, "convert", source, "-o", parent / "pkg")
    assert code == 1
    assert_one_line(stderr)
    assert list(parent.iterdir()) == []


def unreadable_sources(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "folder.py"
    folder.mkdir()
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\xff\xfe\x00 not utf-8")
    notebook = tmp_path / "broken.ipynb"
    notebook.write_text('{"cells": [', encoding="utf-8")
    return {
        "missing": tmp_path / "missing.py",
        "folder": folder,
        "not-utf8": binary,
        "syntax-error": write(tmp_path / "broken.py", "x = (1,\ny = 2\n"),
        "broken-notebook": notebook,
        "unsupported-suffix": write(tmp_path / "notes.txt", IRIS),
    }


@pytest.mark.parametrize(
    "which", ["missing", "folder", "not-utf8", "syntax-error", "broken-notebook", "unsupported-suffix"]
)
def test_unreadable_source_exits_2_with_one_line(capsys, tmp_path, which):
    source = unreadable_sources(tmp_path)[which]
    out = tmp_path / "out" / "pkg"
    code, stdout, stderr = run(capsys, "convert", source, "-o", out)
    assert (code, stdout) == (2, "")
    assert_one_line(stderr)
    assert stderr.startswith(f"nbextract: {source}")
    assert not (tmp_path / "out").exists()


# --name -> why it is refused (the message is `package name 'NAME' REASON; choose another with --name`)
INVALID_NAMES = {
    "bad-name": "is not a valid Python package name",
    "class": "is not a valid Python package name",
    "1st": "is not a valid Python package name",
    "has space": "is not a valid Python package name",
    "numpy": "would shadow the installed module numpy",
    "sklearn": "would shadow the installed module sklearn (scikit-learn)",
    "scikit_learn": "would shadow the installed distribution scikit-learn",
    "sys": "would shadow the standard-library module sys",
    "json": "would shadow the standard-library module json",
    "test": "would shadow the test package test runners import",
    "tests": "would shadow the tests package test runners import",
    "modèle": "is not ASCII, which a distribution name must be",
    "_private": "is not a valid distribution name (it must start and end with a letter or a digit)",
    "pkg_": "is not a valid distribution name (it must start and end with a letter or a digit)",
}


@pytest.mark.parametrize("name", list(INVALID_NAMES))
def test_invalid_name_exits_2(capsys, tmp_path, monkeypatch, iris, name):
    monkeypatch.chdir(tmp_path)
    before = sorted(path.name for path in tmp_path.iterdir())
    code, stdout, stderr = run(capsys, "convert", iris, "--name", name)
    assert (code, stdout) == (2, "")
    assert_one_line(stderr)
    assert stderr == f"nbextract: package name {name!r} {INVALID_NAMES[name]}; choose another with --name\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_an_os_error_naming_a_file_is_the_users_environment_one_line_exit_2(capsys, tmp_path, monkeypatch, iris):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "pkg" / "model.py"))

    monkeypatch.setattr("nbextract.convert.convert", disk_full)
    code, stdout, stderr = run(capsys, "convert", iris, "-o", tmp_path / "pkg")
    assert (code, stdout, stderr) == (2, "", f"nbextract: {tmp_path / 'pkg' / 'model.py'}: No space left on device\n")


def test_an_internal_error_is_one_line_without_the_secrets_it_quotes(capsys, tmp_path, monkeypatch, iris):
    token = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"

    def bug(*args, **kwargs):
        raise RuntimeError(f"slack rejected token {token}")

    monkeypatch.setattr("nbextract.convert.convert", bug)
    code, stdout, stderr = run(capsys, "convert", iris, "-o", tmp_path / "pkg")
    assert (code, stdout) == (1, "")
    assert_one_line(stderr)
    assert "internal error (RuntimeError: slack rejected token <secret" in stderr and token[-8:] not in stderr


def test_invalid_name_with_an_output_folder_exits_2_and_writes_nothing(capsys, tmp_path, iris):
    code, _, stderr = run(capsys, "convert", iris, "--name", "bad-name", "-o", tmp_path / "pkg")
    assert code == 2
    assert_one_line(stderr)
    assert not (tmp_path / "pkg").exists() and leftovers(tmp_path, "pkg") == []


@pytest.mark.parametrize(
    "argv", [["convert"], ["convert", "x.py", "--no-such-option"]], ids=["missing-source", "unknown-option"]
)
def test_bad_usage_exits_2_with_one_line(capsys, argv):
    code, stdout, stderr = run(capsys, *argv)
    assert (code, stdout) == (2, "")
    assert_one_line(stderr)
    assert stderr.startswith("nbextract: ")


# --- every source kind converts, and the generated Python compiles ----------------------------------------------------


def notebook(path: Path) -> Path:
    cells = [
        nbformat.v4.new_markdown_cell("# Iris"),
        nbformat.v4.new_code_cell(IRIS.split("\n\n")[0]),
        nbformat.v4.new_code_cell(textwrap.dedent(IRIS.split("\n\n")[1])),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


SOURCES = {
    "plain-script": (lambda folder: write(folder / "plain.py", IRIS), "script", "y_pred"),
    "percent-script": (lambda folder: write(folder / "cells.py", PERCENT), "percent", "labels"),
    "script-with-main": (lambda folder: write(folder / "with_main.py", WITH_MAIN), "script", "y_pred"),
    "notebook": (lambda folder: notebook(folder / "nb.ipynb"), "ipynb", "y_pred"),
}


@pytest.mark.parametrize("which", list(SOURCES))
def test_each_source_kind_converts_and_the_generated_python_compiles(capsys, tmp_path, which):
    make, kind, output = SOURCES[which]
    source = make(tmp_path)
    out = tmp_path / "pkg"
    code, stdout, stderr = run(capsys, "convert", source, "-o", out)
    assert (code, stderr) == (0, "")
    assert_one_line(stdout)
    manifest = json.loads((out / "nbextract.json").read_text(encoding="utf-8"))
    assert manifest["source"]["kind"] == kind
    assert (manifest["inputs"][0]["name"], manifest["outputs"][0]["name"]) == ("X_test", output)

    package = out / "src" / source.stem
    modules = {path.name for path in package.glob("*.py")}
    assert {"__init__.py", "config.py", "model.py", "preprocess.py", "infer.py", "postprocess.py", "pipeline.py"} <= modules
    python = sorted(out.rglob("*.py"))
    assert out / "training" / "train.py" in python
    for path in python:
        text = path.read_text(encoding="utf-8")
        compile(text, str(path), "exec")
        tree_ = ast.parse(text, filename=str(path))
        assert not any(isinstance(node, ast.ImportFrom) and node.module == "__main__" for node in ast.walk(tree_))


def test_stage_modules_hold_functions_not_script_code(capsys, tmp_path):
    source = write(tmp_path / "plain.py", IRIS)
    out = tmp_path / "pkg"
    assert run(capsys, "convert", source, "-o", out)[0] == 0
    for stage in ("preprocess", "infer", "postprocess"):
        module = ast.parse((out / "src" / "plain" / f"{stage}.py").read_text(encoding="utf-8"))
        functions = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
        assert stage in functions
        loose = [
            node
            for node in module.body
            if not isinstance(node, (ast.FunctionDef, ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign))
            and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        ]
        assert loose == [], f"{stage}.py has top-level code: {[ast.unparse(node) for node in loose]}"


# --- the console script -----------------------------------------------------------------------------------------------


def test_console_script_converts(tmp_path):
    source = write(tmp_path / "My Notebook-v2.py", IRIS)
    result = subprocess.run(
        [str(NBEXTRACT), "convert", source.name], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert_one_line(result.stdout)
    assert result.stdout.startswith("My Notebook-v2.py -> ")
    assert json.loads((tmp_path / "my_notebook_v2" / "nbextract.json").read_text(encoding="utf-8"))["package"] == (
        "my_notebook_v2"
    )
    assert leftovers(tmp_path, "my_notebook_v2") == []


BROKEN_SCRATCH = [
    "from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression",
    "from sklearn.model_selection import train_test_split\nX, y = load_iris(return_X_y=True)\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)",
    "plt.plot(  # half-written scratch cell",
    "clf = LogisticRegression(max_iter=300).fit(X_train, y_train)\ny_pred = clf.predict(X_test)",
]


def test_broken_cell_off_the_inference_path_is_a_finding(capsys, tmp_path, make_notebook):
    path = make_notebook(BROKEN_SCRATCH)
    code, out, _ = run(capsys, "convert", path, "-o", tmp_path / "pkg")
    assert code == 0 and "1 finding;" in out
    findings = json.loads((tmp_path / "pkg" / "nbextract.json").read_text())["findings"]
    assert [(f["kind"], f["origin"]) for f in findings if f["kind"] == "syntax error"] == [("syntax error", "cell 3, line 1")]


def test_broken_cell_the_prediction_needs_is_an_error_naming_it(capsys, tmp_path, make_notebook):
    cells = [*BROKEN_SCRATCH[:2], "clf = LogisticRegression(max_iter=300).fit(X_train, y_train", BROKEN_SCRATCH[3].split("\n")[1]]
    path = make_notebook(cells)
    code, _, err = run(capsys, "convert", path, "-o", tmp_path / "pkg")
    assert code == 2
    assert err.startswith(f"nbextract: {path}, cell 3, line 1: syntax error") and err.count("\n") == 1
    assert not (tmp_path / "pkg").exists()
