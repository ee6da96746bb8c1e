"""`nbextract convert PATH...`: folders expanded to their notebooks and percent scripts, one package per source under
-o, a table of outcomes, the batch going on after a failure, exit statuses, options refused with several sources,
worker processes, progress, and Ctrl-C / SIGTERM leaving no half-written package and no worker behind."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbextract import batch
from nbextract.cli import main, progress_bar
from test_bad_input import interruptible

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import gen_notebook  # noqa: E402

NBEXTRACT = Path(sys.executable).with_name("nbextract")

IRIS = """\
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
clf = LogisticRegression(max_iter=500).fit(X_train, y_train)
y_pred = clf.predict(X_test)
"""
PERCENT = "# %%\n" + IRIS.replace("\n\nX, y", "\n\n# %%\nX, y")
NO_PREDICTION = "import numpy as np\nvalues = np.arange(10)\nprint(values.mean())\n"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([*map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def staging_left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if p.name.endswith((".tmp", ".old")))


# --- which files a folder brings -------------------------------------------------------------------------------------

FOLDER_FILES = {
    "top.ipynb": True,
    "cells.py": True,  # percent format
    "helpers.py": False,  # a plain module
    "sub/deeper.ipynb": True,
    "sub/more_cells.py": True,
    ".hidden.ipynb": False,
    ".ipynb_checkpoints/top-checkpoint.ipynb": False,
    ".git/stray.ipynb": False,
    "__pycache__/cached.ipynb": False,
    "node_modules/pkg/demo.ipynb": False,
    "venv/lib/site.ipynb": False,  # venv/ holds pyvenv.cfg
    "conda_env/lib/site.ipynb": False,  # conda_env/ holds conda-meta
    "notes.txt": False,
    "data/table.json": False,
}


def test_a_folder_brings_its_notebooks_and_percent_scripts_only(tmp_path):
    root = tmp_path / "project"
    for relative in FOLDER_FILES:
        put(root / relative, PERCENT if relative.endswith(".py") and "cells" in relative else IRIS)
    put(root / "venv" / "pyvenv.cfg", "home = /usr/bin\n")
    (root / "conda_env" / "conda-meta").mkdir(parents=True)
    found, empty = batch.sources_in([root])
    assert empty == []
    assert sorted(str(p.relative_to(root)) for p in found) == sorted(r for r, kept in FOLDER_FILES.items() if kept)


def test_files_named_on_the_command_line_are_kept_as_given_and_once(tmp_path):
    plain = put(tmp_path / "script.py", IRIS)  # a plain script named explicitly is converted
    notebook = put(tmp_path / "nbs" / "a.ipynb", "{}")
    found, empty = batch.sources_in([plain, tmp_path / "nbs", notebook, tmp_path / "missing.py"])
    assert found == [plain, notebook, tmp_path / "missing.py"]
    assert empty == []


def test_a_folder_without_sources_is_a_failed_outcome(tmp_path):
    put(tmp_path / "empty" / "module.py", "x = 1\n")
    found, empty = batch.sources_in([tmp_path / "empty"])
    assert found == []
    assert [(o.source, o.exit_code) for o in empty] == [(tmp_path / "empty", 2)]


# --- the batch from the command line ----------------------------------------------------------------------------------


def test_several_sources_each_become_a_package_under_the_output_folder(capsys, tmp_path):
    first = put(tmp_path / "in" / "first model.py", IRIS)
    second = put(tmp_path / "in" / "nbs" / "second.py", PERCENT)
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "convert", first, tmp_path / "in" / "nbs", "-o", out)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["first_model", "second"]
    for name in ("first_model", "second"):
        assert json.loads((out / name / "nbextract.json").read_text(encoding="utf-8"))["package"] == name
    lines = stdout.splitlines()
    assert lines[0].split() == ["SOURCE", "RESULT"]
    assert lines[1].startswith(str(first)) and f"converted -> {out / 'first_model'} (input X_test, output y_pred" in lines[1]
    assert lines[2].startswith(str(second)) and f"converted -> {out / 'second'}" in lines[2]
    assert lines[3:] == ["2 converted, 0 failed"]
    assert stderr.splitlines() == [f"nbextract: [1/2] {first}: converted", f"nbextract: [2/2] {second}: converted"]


def test_without_output_folder_packages_go_to_the_current_folder(capsys, tmp_path, monkeypatch):
    put(tmp_path / "nbs" / "a.py", PERCENT)
    put(tmp_path / "nbs" / "b.py", PERCENT)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "convert", "nbs")[0] == 0
    assert (tmp_path / "a" / "nbextract.json").is_file() and (tmp_path / "b" / "nbextract.json").is_file()


def test_a_failure_does_not_stop_the_batch_and_exits_1(capsys, tmp_path):
    sources = [
        put(tmp_path / "a.py", IRIS),
        put(tmp_path / "explore.py", NO_PREDICTION),
        put(tmp_path / "broken.ipynb", '{"cells": ['),
        put(tmp_path / "z.py", IRIS),
    ]
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "convert", *sources, "-o", out)
    assert code == 1
    rows = dict(line.split(None, 1) for line in stdout.splitlines()[1:-1])
    assert rows[str(sources[0])].startswith("converted -> ") and rows[str(sources[3])].startswith("converted -> ")
    assert rows[str(sources[1])].startswith("failed: no prediction call found") and "nbextract:infer" in rows[str(sources[1])]
    assert rows[str(sources[2])].startswith("failed: not a valid notebook")
    assert stdout.splitlines()[-1] == "2 converted, 2 failed"
    assert sorted(p.name for p in out.iterdir()) == ["a", "z"]
    assert staging_left(tmp_path) == []


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: [d / "missing.py", d / "gone.ipynb"], 2),  # every source unreadable: as a single one would
        (lambda d: [d / "missing.py", put(d / "explore.py", NO_PREDICTION)], 1),  # one was read but cannot convert
        (lambda d: [d / "missing.py", put(d / "ok.py", IRIS)], 1),  # one converted, one failed
        (lambda d: [put(d / "a.py", IRIS), put(d / "b.py", IRIS)], 0),
    ],
    ids=["all-unreadable", "unreadable-and-unconvertible", "one-failed", "all-converted"],
)
def test_exit_status_of_a_batch(capsys, tmp_path, make, expected):
    code, stdout, _ = run(capsys, "convert", *make(tmp_path), "-o", tmp_path / "out")
    assert code == expected
    assert stdout.splitlines()[-1].endswith("failed")


def test_an_existing_package_is_a_failed_row_unless_forced(capsys, tmp_path):
    sources = [put(tmp_path / "a.py", IRIS), put(tmp_path / "b.py", IRIS)]
    out = tmp_path / "out"
    put(out / "a" / "mine.txt", "keep\n")
    code, stdout, _ = run(capsys, "convert", *sources, "-o", out)
    assert code == 1
    assert f"failed: {out / 'a'}: output folder exists; pass --force to replace it" in stdout
    assert (out / "a" / "mine.txt").read_text(encoding="utf-8") == "keep\n"
    assert run(capsys, "convert", *sources, "-o", out, "--force")[0] == 0
    assert not (out / "a" / "mine.txt").exists()


@pytest.mark.parametrize("option", [["--name", "pkg"], ["--input", "X_test"], ["--output", "y_pred"]])
def test_one_source_options_are_refused_with_several_sources(capsys, tmp_path, option):
    sources = [put(tmp_path / "a.py", IRIS), put(tmp_path / "b.py", IRIS)]
    code, stdout, stderr = run(capsys, "convert", *sources, "-o", tmp_path / "out", *option)
    assert (code, stdout) == (2, "")
    assert stderr.count("\n") == 1 and option[0] in stderr
    assert not (tmp_path / "out").exists()


def test_one_source_options_are_refused_with_a_folder(capsys, tmp_path):
    put(tmp_path / "nbs" / "a.py", PERCENT)
    code, _, stderr = run(capsys, "convert", tmp_path / "nbs", "--name", "pkg", "-o", tmp_path / "out")
    assert code == 2 and "--name" in stderr
    assert not (tmp_path / "out").exists()


def test_two_sources_of_one_name_are_refused_before_any_work(capsys, tmp_path):
    sources = [put(tmp_path / "first.py", IRIS), put(tmp_path / "x" / "model.py", IRIS), put(tmp_path / "y" / "model.ipynb", "{}")]
    code, stdout, stderr = run(capsys, "convert", *sources, "-o", tmp_path / "out")
    assert (code, stdout) == (2, "")
    assert stderr.count("\n") == 1
    assert str(sources[1]) in stderr and str(sources[2]) in stderr and str(tmp_path / "out" / "model") in stderr
    assert not (tmp_path / "out").exists()


def test_a_single_empty_folder_is_bad_usage(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, stdout, stderr = run(capsys, "convert", tmp_path / "empty", "-o", tmp_path / "out")
    assert (code, stdout) == (2, "")
    assert stderr == f"nbextract: {tmp_path / 'empty'}: no notebooks or percent-format scripts in this folder\n"


def test_worker_processes_write_what_one_process_writes(capsys, tmp_path):
    sources = [put(tmp_path / f"s{i}.py", IRIS) for i in range(3)] + [put(tmp_path / "explore.py", NO_PREDICTION)]
    results = {}
    for jobs in ("1", "2", "0"):
        out = tmp_path / f"out{jobs}"
        code, stdout, _ = run(capsys, "convert", *sources, "-o", out, "--jobs", jobs)
        assert code == 1
        results[jobs] = (
            [line.replace(str(out), "OUT") for line in stdout.splitlines()],
            {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()},
        )
    assert results["1"] == results["2"] == results["0"]
    assert len(results["1"][0]) == 6 and results["1"][1]


def test_convert_all_returns_outcomes_in_the_order_of_its_options(tmp_path):
    from nbextract.options import Options

    sources = [put(tmp_path / "explore.py", NO_PREDICTION), put(tmp_path / "a.py", IRIS), tmp_path / "missing.py"]
    options = batch.plan(sources, Options(source=Path()), tmp_path / "out")
    seen = []
    outcomes = batch.convert_all(options, jobs=2, done=seen.append)
    assert [o.source for o in outcomes] == sources
    assert sorted(map(str, (o.source for o in seen))) == sorted(map(str, sources))
    assert [(o.converted, o.exit_code) for o in outcomes] == [(False, 1), (True, 0), (False, 2)]
    assert outcomes[1].output == tmp_path / "out" / "a"
    assert outcomes[2].reason == "no such file"


def test_progress_bar_draws_on_a_terminal_and_is_silent_otherwise(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with progress_bar("running") as progress:
        assert progress is None  # pytest's captured stderr is not a terminal
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with progress_bar("running") as progress:
        for done in range(1, 4):
            progress(done, 3, f"cell {done}")
    drawn = screen.getvalue()
    assert [frame.split("\x1b[?25l")[-1].split("\x1b")[0] for frame in drawn.split("\r")[1:]] == [
        f"running  [{'#' * width}{'-' * (36 - width)}]  {done}/3  cell {done}" for done, width in ((1, 12), (2, 24), (3, 36))
    ]


# --- interruption ------------------------------------------------------------------------------------------------------


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find worker processes")
@pytest.mark.parametrize("how", ["sigint-to-group", "sigterm-to-parent"])
def test_interrupting_a_batch_leaves_no_half_written_package_and_no_worker(tmp_path, how):
    sources = tmp_path / "sources"
    sources.mkdir()
    for number in range(6):
        gen_notebook.write_notebook(sources / f"nb{number}.ipynb", 400, seed=number)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [str(NBEXTRACT), "convert", str(sources), "-o", str(out), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    first = process.stderr.readline()  # the first finished source: the others are being converted right now
    assert first.startswith("nbextract: [1/6]"), first
    time.sleep(0.5)
    if how == "sigint-to-group":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert stderr.splitlines()[-1].startswith("nbextract: interrupted after "), stderr
    assert "Traceback" not in stderr
    assert staging_left(tmp_path) == []
    written = sorted(p.name for p in out.iterdir())
    assert 1 <= len(written) < 6
    assert all((out / name / "nbextract.json").is_file() for name in written)
    assert processes_mentioning(str(sources)) == []


def test_a_named_pipe_in_a_folder_never_blocks_the_walk_and_fails_its_row(capsys, tmp_path):
    put(tmp_path / "nbs" / "a.py", PERCENT)
    os.mkfifo(tmp_path / "nbs" / "pipe.py")
    os.mkfifo(tmp_path / "nbs" / "pipe.ipynb")
    assert [path.name for path in batch.folder_sources(tmp_path / "nbs")] == ["a.py", "pipe.ipynb"]
    code, stdout, _ = run(capsys, "convert", tmp_path / "nbs", "-o", tmp_path / "out")
    assert code == 1
    assert "failed: not a regular file (a named pipe)" in stdout


def test_a_package_folder_holding_a_source_of_the_batch_is_refused_before_any_work(capsys, tmp_path):
    sources = [put(tmp_path / "proj" / "a.py", IRIS), put(tmp_path / "other" / "proj.py", IRIS)]
    code, stdout, stderr = run(capsys, "convert", *sources, "-o", tmp_path, "--force")
    assert (code, stdout) == (2, "")
    assert stderr == f"nbextract: {tmp_path / 'proj'}: the output folder holds the source {sources[0]}; choose another with -o\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other", "proj"]


def test_an_internal_error_of_one_source_is_a_row_without_the_secrets_it_quotes(tmp_path, monkeypatch):
    token = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"

    def bug(options):
        raise RuntimeError(f"slack rejected token {token}")

    monkeypatch.setattr("nbextract.convert.convert", bug)
    source = put(tmp_path / "a.py", IRIS)
    _, outcome = batch.converted((0, batch.Options(source=source, output=tmp_path / "out")))
    assert outcome.reason.startswith("internal error (RuntimeError: slack rejected token <secret") and token[-8:] not in outcome.reason
