"""Bad input at the command line (contract: Command line), one row per case of issue 9 that tests/test_convert_cli.py
and tests/test_read.py do not already cover: binary files, JSON that is not a notebook, truncated notebooks, empty and
markdown-only notebooks, syntax errors named by cell and line, extremely deep nesting, non-UTF-8 scripts, a huge cell,
and Ctrl-C / SIGTERM in the middle of a conversion. Each failure is its exit status and one line naming the file, never
a traceback, with nothing left on disk; each input that is fine converts to Python that compiles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nbextract.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import gen_notebook  # noqa: E402

NBEXTRACT = Path(sys.executable).with_name("nbextract")

IMPORTS = "from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression"
TRAIN = "X, y = load_iris(return_X_y=True)\nclf = LogisticRegression(max_iter=300).fit(X[:100], y[:100])"
PREDICT = "X_new = X[100:]\ny_pred = clf.predict(X_new)"
SCRIPT = f"{IMPORTS}\n\n{TRAIN}\n{PREDICT}\n"


def notebook(*sources: str, kinds: str = "") -> str:
    """nbformat-4 JSON of cells; kinds[i] == "m" makes cell i markdown."""
    make = {"c": nbformat.v4.new_code_cell, "m": nbformat.v4.new_markdown_cell}
    cells = [make[(kinds or "c" * len(sources))[i]](source) for i, source in enumerate(sources)]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells))


def deep_brackets(depth: int) -> str:
    return "x = " + "(" * depth + "1" + ")" * depth


def huge_cell(lines: int) -> str:
    """One cell of `lines` feature steps between training and prediction."""
    steps = "".join(f"f{i} = X_new[:, {i % 4}] * {i}\n" for i in range(lines))
    return f"{IMPORTS}\n{TRAIN}\nX_new = X[100:]\n{steps}y_pred = clf.predict(X_new)\n"


# name -> (file name, content (str is written as UTF-8, bytes as they are), exit status, fragment of the one line)
FAILING = {
    "png-renamed-ipynb": ("plot.ipynb", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), 2, "not UTF-8 text (byte 0); it looks like a binary file"),
    "nul-bytes-in-script": ("blob.py", b"x = 1\n\x00\x00\x00\n", 2, "binary file (it holds NUL bytes)"),
    "json-list": ("list.ipynb", "[1, 2, 3]", 2, "not a notebook"),
    "json-package-manifest": ("package.ipynb", '{"name": "x", "version": "1.0.0"}', 2, "notebook"),
    "json-cells-not-a-list": ("cells.ipynb", '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": {}}', 2, "notebook"),
    "truncated-half-notebook": ("half.ipynb", notebook(IMPORTS, TRAIN, PREDICT)[:150], 2, "not a valid notebook"),
    "empty-file-notebook": ("empty.ipynb", "", 2, "not a valid notebook"),
    "notebook-without-cells": ("nocells.ipynb", notebook(), 1, "no code to convert (no code cells"),
    "markdown-only-notebook": ("notes.ipynb", notebook("# Title", "Some text", kinds="mm"), 1, "no code to convert (no code cells"),
    "blank-code-cells-only": ("blank.ipynb", notebook("", "   \n\n", "# a comment"), 1, "no code to convert (no code cells"),
    "empty-script": ("empty.py", "", 1, "no code to convert"),
    "every-cell-skipped": ("skipped.ipynb", notebook(f"# nbextract: skip\n{TRAIN}", f"# nbextract: skip\n{PREDICT}"), 1, "every statement is in a cell tagged nbextract:skip"),
    "syntax-error-named-by-cell-and-line": (
        "typo.ipynb", notebook(IMPORTS, TRAIN, "X_new = X[100:]\n\ny_pred = clf.predict(X_new"), 2, ", cell 3, line 3: syntax error"
    ),
    "deep-brackets-script": ("deep.py", f"{SCRIPT}{deep_brackets(5000)}\n", 2, ", line 8: syntax error: too many nested parentheses"),
    "deep-brackets-off-the-path-cell": (
        "deep.ipynb", notebook(IMPORTS, TRAIN, deep_brackets(3000), PREDICT), 2, ", cell 3, line 1: syntax error: too many nested"
    ),
    "deep-operator-chain": ("chain.py", f"{SCRIPT}x = {'not ' * 20000}1\n", 2, "code nested too deeply to analyse"),
    "chain-the-graph-takes-but-codemods-cannot": (
        "sum.py", f"{IMPORTS}\n\n{TRAIN}\nX_new = X[100:] * ({' + '.join(['1'] * 400)})\ny_pred = clf.predict(X_new)\n",
        2,
        "code nested too deeply to convert",
    ),
    "deep-json-notebook": (
        "deepjson.ipynb",
        '{"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        2,
        "not a notebook",
    ),
    "latin1-script-undeclared": ("cafe.py", "# caf\xe9\n".encode("latin-1") + SCRIPT.encode(), 2, "declare its encoding"),
    "unknown-encoding-declared": ("klingon.py", "# -*- coding: klingon -*-\n" + SCRIPT, 2, "bad encoding declaration"),
    "utf16-script": ("wide.py", SCRIPT.encode("utf-16"), 2, "not UTF-8 text"),
}

CONVERTING = {
    "latin1-script-declared": ("menu.py", "# -*- coding: latin-1 -*-\n# caf\xe9 cr\xe8me\n".encode("latin-1") + SCRIPT.encode()),
    "deep-brackets-inside-a-string": ("quoted.py", f"{SCRIPT}banner = '{'(' * 5000}'\n"),
    "deep-brackets-in-a-time-magic": ("timed.ipynb", notebook(IMPORTS, TRAIN, f"%time {deep_brackets(5000)}", PREDICT)),
    "huge-cell": ("huge.ipynb", notebook(huge_cell(2000))),
}


def place(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("case", list(FAILING))
def test_bad_input_exits_with_one_line_and_leaves_nothing(capsys, tmp_path, case):
    name, content, status, fragment = FAILING[case]
    source = place(tmp_path, name, content)
    out = tmp_path / "out" / "pkg"
    code = main(["convert", str(source), "-o", str(out)])
    stdout, stderr = capsys.readouterr()
    assert (code, stdout) == (status, "")
    assert stderr.startswith(f"nbextract: {source}") and stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert fragment in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", list(CONVERTING))
def test_unusual_but_valid_input_converts_to_python_that_compiles(capsys, tmp_path, case):
    name, content = CONVERTING[case]
    source = place(tmp_path, name, content)
    out = tmp_path / "pkg"
    code = main(["convert", str(source), "-o", str(out)])
    stdout, stderr = capsys.readouterr()
    assert (code, stderr) == (0, ""), stderr
    assert stdout.startswith(f"{source} -> {out}: input X_new, output y_pred,")
    for path in out.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    assert json.loads((out / "nbextract.json").read_text(encoding="utf-8"))["outputs"][0]["name"] == "y_pred"


def test_a_magic_too_deep_to_parse_is_flagged_not_unwrapped(capsys, tmp_path):
    name, content = CONVERTING["deep-brackets-in-a-time-magic"]
    out = tmp_path / "pkg"
    assert main(["convert", str(place(tmp_path, name, content)), "-o", str(out)]) == 0
    report = (out / "CONVERSION.md").read_text(encoding="utf-8")
    assert "could not parse its body" in report
    assert "(((" not in (out / "training" / "train.py").read_text(encoding="utf-8")


def cpu_seconds(pid: int) -> float:
    """CPU time a running process has used (Linux /proc), whatever the load of the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process's CPU time from /proc")
@pytest.mark.parametrize("how", ["sigint", "sigterm"])
def test_interrupting_a_conversion_leaves_nothing(tmp_path, how):
    source = tmp_path / "big.ipynb"
    gen_notebook.write_notebook(source, 2500)
    out = tmp_path / "out" / "big"
    process = subprocess.Popen(
        [str(NBEXTRACT), "convert", str(source), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    while cpu_seconds(process.pid) < 1.0 and process.poll() is None:  # past start-up (0.5 s), into the analysis of 2,500 cells (3.5 s)
        time.sleep(0.1)
    process.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert (process.returncode, stdout) == (130, "")
    assert stderr == "nbextract: interrupted; nothing was written\n"
    assert not out.exists()
    assert not out.parent.exists() or os.listdir(out.parent) == []


# --- well-formed notebooks are read without nbformat: the same cells as nbformat reads --------------------------------

V4_VARIANTS = {
    "list-sources-and-tags": {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [
            {"cell_type": "code", "id": "a", "metadata": {"tags": ["nbextract:train"]}, "source": ["x = 1\n", "y = 2"],
             "outputs": [], "execution_count": None},
            {"cell_type": "markdown", "id": "b", "metadata": {}, "source": ["# T", "itle"]},
            {"cell_type": "raw", "id": "c", "metadata": {}, "source": "raw"},
        ],
    },
    "nbformat-4.0-without-ids": {
        "nbformat": 4, "nbformat_minor": 0, "metadata": {},
        "cells": [{"cell_type": "code", "metadata": {}, "source": "# nbextract: infer\ny = f(x)", "outputs": [], "execution_count": 3}],
    },
}


@pytest.mark.parametrize("notebook", [*V4_VARIANTS, *sorted(p.name for p in (Path(__file__).parents[1] / "sample_notebooks").glob("*.ipynb"))])
def test_plain_v4_notebooks_read_as_nbformat_reads_them(tmp_path, notebook):
    from nbextract import read

    if notebook in V4_VARIANTS:
        text = json.dumps(V4_VARIANTS[notebook])
    else:
        text = (Path(__file__).parents[1] / "sample_notebooks" / notebook).read_text(encoding="utf-8")
    assert read.plain_v4_cells(text) is not None  # the fast path is taken
    fast = read.read_ipynb(text, "nb.ipynb")
    through_nbformat = [read.tagged(read.Cell(n, c.source, c.cell_type, tuple(c.metadata.get("tags", ())), c.get("id")))
                        for n, c in enumerate(read.nbformat_cells(text, "nb.ipynb"), start=1)]
    assert without_ids(fast) == without_ids(through_nbformat)


def without_ids(cells) -> list[tuple]:
    """Cells without their ids: nbformat gives a 4.0 notebook's cells random ones."""
    return [(cell.number, cell.source, cell.kind, cell.tags) for cell in cells]


def interruptible() -> None:
    """Ctrl-C as a terminal gives it: pytest-xdist workers ignore SIGINT, and their children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --- issue 16: the red-team cases ------------------------------------------------------------------------------------


def user_files(tmp_path: Path) -> Path:
    """tmp/proj/nb.py beside the user's data, tmp/other/proj.py, tmp/work (the current folder) with a file of the
    user's, tmp/tpl/custom (a template folder), tmp/link a link to proj, tmp/links/nb.py a link to proj/nb.py;
    returns tmp/proj."""
    proj = tmp_path / "proj"
    proj.mkdir()
    place(proj, "nb.py", SCRIPT)
    place(proj, "data.csv", "a,b\n1,2\n")
    (tmp_path / "other").mkdir()
    place(tmp_path / "other", "proj.py", SCRIPT)
    (tmp_path / "work").mkdir()
    place(tmp_path / "work", "mine.txt", "keep\n")
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "custom").mkdir()
    (tmp_path / "link").symlink_to(proj, target_is_directory=True)
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "nb.py").symlink_to(proj / "nb.py")
    return proj


def every_file(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# name -> (arguments after `nbextract`, `{tmp}` standing for tmp_path; the current folder is tmp/work), fragment of
# the one line (the last is click's own check of -o)
UNSAFE_OUTPUTS = {
    "out-is-the-source-folder": (["convert", "{tmp}/proj/nb.py", "-o", "{tmp}/proj", "--force"], "holds the source"),
    "out-is-the-source-folder-without-force": (["convert", "{tmp}/proj/nb.py", "-o", "{tmp}/proj"], "holds the source"),
    "out-is-an-ancestor-of-the-source": (["convert", "{tmp}/proj/nb.py", "-o", "{tmp}", "--force"], "holds the source"),
    "out-is-the-source-itself": (["convert", "{tmp}/proj/nb.py", "-o", "{tmp}/proj/nb.py", "--force"], "is a file"),
    "out-is-the-current-folder": (["convert", "{tmp}/proj/nb.py", "-o", ".", "--force"], "is the current folder"),
    "out-is-the-parent-of-the-current-folder": (["convert", "{tmp}/proj/nb.py", "-o", "..", "--force"], "holds the source"),
    "source-reached-through-a-link": (["convert", "{tmp}/link/nb.py", "-o", "{tmp}/proj", "--force"], "holds the source"),
    "source-is-a-link-in-out": (["convert", "{tmp}/links/nb.py", "-o", "{tmp}/links", "--force"], "holds the source"),
    "out-holds-the-template-folder": (
        ["convert", "{tmp}/proj/nb.py", "-o", "{tmp}/tpl", "--template-dir", "{tmp}/tpl/custom", "--force"],
        "holds the template folder",
    ),
    "batch-out-holds-another-source": (["convert", "{tmp}/proj/nb.py", "{tmp}/other/proj.py", "-o", "{tmp}", "--force"], "holds the source"),
    "init-in-the-current-folder": (["init", "pkg", "-o", ".", "--force"], "is the current folder"),
    "init-in-an-ancestor-of-the-current-folder": (["init", "pkg", "-o", "{tmp}", "--force"], "holds the current folder"),
}


@pytest.mark.parametrize("case", list(UNSAFE_OUTPUTS))
def test_an_output_folder_holding_the_users_files_is_refused_even_with_force(capsys, tmp_path, monkeypatch, case):
    argv, fragment = UNSAFE_OUTPUTS[case]
    user_files(tmp_path)
    monkeypatch.chdir(tmp_path / "work")
    before = every_file(tmp_path)
    code = main([argument.format(tmp=tmp_path) for argument in argv])
    stdout, stderr = capsys.readouterr()
    assert (code, stdout) == (2, "")
    assert stderr.startswith("nbextract: ") and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert fragment in stderr
    assert every_file(tmp_path) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link", "links", "other", "proj", "tpl", "work"]


def test_force_on_an_output_replacing_only_a_link_keeps_what_it_points_to(capsys, tmp_path, monkeypatch):
    proj = user_files(tmp_path)
    monkeypatch.chdir(tmp_path / "work")
    assert main(["convert", str(tmp_path / "links" / "nb.py"), "-o", str(tmp_path / "link"), "--force"]) == 0
    assert (tmp_path / "link").is_dir() and not (tmp_path / "link").is_symlink()
    assert sorted(path.name for path in proj.iterdir()) == ["data.csv", "nb.py"]


def test_a_source_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "nb.ipynb"
    os.mkfifo(fifo)
    zeros = tmp_path / "zeros.ipynb"
    zeros.symlink_to("/dev/zero")
    for source, kind in ((fifo, "a named pipe"), (zeros, "a device")):
        process = subprocess.run(
            [str(NBEXTRACT), "convert", str(source), "-o", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=120, preexec_fn=limited_memory,
        )
        assert (process.returncode, process.stdout) == (2, "")
        assert process.stderr == f"nbextract: {source}: not a regular file ({kind}); expected a notebook (.ipynb) or a script (.py)\n"
    assert not (tmp_path / "out").exists()


def limited_memory() -> None:
    """At most 2 GiB of address space: a source read without bound fails instead of eating the machine."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_a_source_over_the_size_limit_is_refused_naming_its_size(capsys, tmp_path):
    source = tmp_path / "big.ipynb"
    with source.open("wb") as sparse:
        sparse.truncate(80 * 2**20)
    code = main(["convert", str(source), "-o", str(tmp_path / "out")])
    stdout, stderr = capsys.readouterr()
    assert (code, stdout) == (2, "")
    assert stderr == f"nbextract: {source}: too large to read (80.0 MiB; the limit is 64.0 MiB)\n"


# name -> (the -o argument, `{tmp}` standing for tmp_path; root ignores permissions, so no read-only folder), fragment
UNWRITABLE_OUTPUTS = {
    "inside-proc": ("/proc/nbextract_x", "No such file or directory"),
    "below-a-missing-folder-of-proc": ("/proc/nbextract_x/deeper/pkg", "No such file or directory"),
    "name-too-long": ("{tmp}/" + "n" * 300 + "/pkg", "File name too long"),
    "below-a-file": ("{tmp}/nb.py/pkg", "nb.py is a file, not a folder"),
}


@pytest.mark.parametrize("case", list(UNWRITABLE_OUTPUTS))
def test_an_unwritable_output_is_one_line_naming_it_and_exit_2(capsys, tmp_path, case):
    out, reason = UNWRITABLE_OUTPUTS[case]
    out = out.format(tmp=tmp_path)
    source = place(tmp_path, "nb.py", SCRIPT)
    code = main(["convert", str(source), "-o", out])
    stdout, stderr = capsys.readouterr()
    assert (code, stdout) == (2, "")
    assert stderr.startswith(f"nbextract: {out}") and stderr.count("\n") == 1, stderr
    assert reason in stderr and "internal error" not in stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["nb.py"]


def test_an_input_naming_an_import_is_bad_usage_naming_what_it_is(capsys, tmp_path):
    source = place(tmp_path, "nb.ipynb", notebook(IMPORTS, TRAIN, PREDICT))
    code = main(["convert", str(source), "--input", "LogisticRegression", "-o", str(tmp_path / "out")])
    stdout, stderr = capsys.readouterr()
    assert (code, stdout) == (2, "")
    assert stderr == (
        f"nbextract: {source}: --input LogisticRegression: LogisticRegression is an import at cell 1, line 2, not a variable\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_source_name_too_long_is_one_line_and_exit_2(capsys, tmp_path):
    source = tmp_path / ("n" * 300) / "nb.py"
    code = main(["convert", str(source), "-o", str(tmp_path / "out")])
    stdout, stderr = capsys.readouterr()
    assert (code, stdout) == (2, "")
    assert stderr == f"nbextract: {source}: cannot read: File name too long\n"
