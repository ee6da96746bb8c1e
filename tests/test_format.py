"""Formatting a large project in pieces (shared with a forked child) gives the same text as formatting each file whole."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from nbextract import fork, format, render

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import gen_notebook  # noqa: E402
from test_templates_formatted import converted  # noqa: E402

SAMPLES = sorted(p.name for p in (ROOT / "sample_notebooks").iterdir() if p.suffix in (".ipynb", ".py"))


def rendered(source: Path, tmp_path: Path) -> tuple[dict[str, str], str]:
    data = converted(source, tmp_path / "out")
    return render.render(data), data["package"]


def whole(files: dict[str, str], package: str) -> dict[str, str]:
    return {path: format.format_python(text, (package,)) if path.endswith(".py") else text for path, text in files.items()}


def test_a_large_research_notebook_formats_in_pieces_as_it_does_whole(tmp_path, monkeypatch):
    source = tmp_path / "research.ipynb"
    gen_notebook.write_notebook(source, 400, seed=3)
    files, package = rendered(source, tmp_path)
    monkeypatch.setattr(format, "PIECE_LINES", 100)
    assert len(format.pieces_of(format.sorted_imports(files["training/train.py"], (package,)))) > 2
    assert format.format_files(files, package) == whole(files, package)


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_sample_formats_in_pieces_as_it_does_whole(tmp_path, monkeypatch, sample):
    """With the threshold at a few lines every training script is cut into many pieces: each sample's code, unformatted research
    code included, comes out as black formats the whole file."""
    files, package = rendered(ROOT / "sample_notebooks" / sample, tmp_path)
    monkeypatch.setattr(format, "PIECE_LINES", 5)
    assert format.format_files(files, package) == whole(files, package)


def test_in_a_threaded_process_nothing_forks_and_the_result_is_the_same(tmp_path, monkeypatch):
    source = tmp_path / "research.ipynb"
    gen_notebook.write_notebook(source, 200, seed=5)
    files, package = rendered(source, tmp_path)
    monkeypatch.setattr(format, "PIECE_LINES", 50)
    forks = []
    monkeypatch.setattr(format, "map_pieces", lambda *args: forks.append(args))
    results = {}
    worker = threading.Thread(target=lambda: results.update(format.format_files(files, package)))
    worker.start()
    worker.join()
    assert forks == [] and results == whole(files, package)


MAIN = """\
def main():
    \"\"\"Docstring.\"\"\"
    # cell 1, line 1
    a = [1,2]
{middle}
    # cell 9, line 1
    z = {{'k': 1}}


if __name__ == "__main__":
    main()
"""

SEAM_CASES = {
    "between two plain statements": ("    # cell 2, line 1\n    b = a", True),
    "before a nested def": ("    # cell 2, line 1\n    def f(x):\n        return x", False),
    "before a decorator": ("    # cell 2, line 1\n    @cache\n    def f(x):\n        return x", False),
    "after a block opener's body": ("    for i in a:\n        # cell 2, line 1\n        print(i)", False),
    "before a bare string (a docstring at the top of a piece)": ("    # cell 2, line 1\n    'not a docstring'", False),
}


@pytest.mark.parametrize(("middle", "is_seam"), SEAM_CASES.values(), ids=SEAM_CASES.keys())
def test_seams_are_only_where_black_carries_nothing_across(middle, is_seam):
    lines = MAIN.format(middle=middle).splitlines(keepends=True)
    last = next(number for number, line in enumerate(lines) if line.startswith("    # cell 9"))
    cuts = {number for number, _ in format.seams(lines)} - {last}
    assert bool(cuts) == is_seam, cuts


@pytest.mark.parametrize("middle", [case for case, _ in SEAM_CASES.values()], ids=SEAM_CASES.keys())
def test_pieces_format_as_the_whole_file_does_or_fall_back_to_it(middle, monkeypatch):
    text = MAIN.format(middle=middle)
    monkeypatch.setattr(format, "PIECE_LINES", 2)
    monkeypatch.setattr(format, "may_fork", lambda pieces: True)
    assert format.format_files({"t.py": text}, "pkg") == {"t.py": format.format_python(text, ("pkg",))}


def test_a_long_file_is_cut_into_pieces_of_at_least_piece_lines_each_under_its_functions_header(monkeypatch):
    middle = "\n".join(f"    # cell {cell}, line 1\n    v{cell} = {cell}" for cell in range(2, 9))
    text = MAIN.format(middle=middle)
    monkeypatch.setattr(format, "PIECE_LINES", 3)
    pieces = format.pieces_of(text)
    assert len(pieces) > 2
    assert all(piece.startswith("def main():\n") for piece in pieces[1:])
    assert all(piece.count("\n") >= 3 for piece in pieces)
    assert pieces[0] + "".join(piece.partition("\n")[2] for piece in pieces[1:]) == text


def test_a_piece_black_cannot_parse_is_formatted_whole(monkeypatch):
    """A provenance-like line inside a string is a seam by its looks; the half that ends inside the string does not
    parse, so that file is formatted whole."""
    text = MAIN.format(middle='    s = """\n    b = 1\n    # cell 2, line 1\n    c = 2\n    """')
    monkeypatch.setattr(format, "PIECE_LINES", 2)
    monkeypatch.setattr(format, "may_fork", lambda pieces: True)
    pieces = format.pieces_of(format.sorted_imports(text, ("pkg",)))
    assert len(pieces) >= 2
    assert format.format_files({"t.py": text}, "pkg") == {"t.py": format.format_python(text, ("pkg",))}


def test_a_child_that_fails_leaves_its_pieces_to_the_parent(monkeypatch):
    """The child sends nothing (as when it is killed): the parent formats the child's pieces itself."""
    monkeypatch.setattr(fork, "run_child", lambda *args: os._exit(1))
    pieces = {("a.py", 0): "x = [1,2]\n", ("b.py", 0): "y = {'k': 1}\n"}
    assert format.map_pieces(format.format_black, pieces) == {("a.py", 0): "x = [1, 2]\n", ("b.py", 0): 'y = {"k": 1}\n'}


def test_an_interrupted_parent_ends_its_child_and_collects_it(monkeypatch):
    """Ctrl-C (or SIGTERM, which the CLI turns into it) while the parent formats: the child, still formatting, is
    killed and waited for, so no process outlives the conversion."""
    parent, forked, real_fork = os.getpid(), [], os.fork

    def fork():
        pid = real_fork()
        forked.extend([pid] if pid else [])
        return pid

    def interrupted_in_the_parent(piece):
        if os.getpid() == parent:
            raise KeyboardInterrupt
        time.sleep(60)
        return piece

    monkeypatch.setattr(os, "fork", fork)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        format.map_pieces(interrupted_in_the_parent, {("a.py", 0): "a = 1\n", ("b.py", 0): "b = 2\n"})
    assert time.monotonic() - started < 30 and len(forked) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)


def test_without_forking_too_a_piece_black_cannot_parse_is_formatted_whole(monkeypatch):
    text = MAIN.format(middle='    s = """\n    b = 1\n    # cell 2, line 1\n    c = 2\n    """')
    monkeypatch.setattr(format, "PIECE_LINES", 2)
    monkeypatch.setattr(format, "may_fork", lambda pieces: False)
    assert format.format_files({"t.py": text}, "pkg") == {"t.py": format.format_python(text, ("pkg",))}


@pytest.mark.parametrize("module", sorted(render.runtime_modules()))
def test_a_runtime_module_is_in_the_generated_projects_style_so_formatting_may_skip_it(module):
    """format_files leaves the runtime modules a package copies whole as they are (render.runtime_texts): that is only
    right while each is what isort and black, as the generated project runs them, make of it."""
    text = render.runtime_modules()[module]
    assert format.format_python(text, ("package",)) == text


def test_a_settled_text_is_left_as_it_is_and_the_rest_formatted():
    files = {"a.py": "x=1\n", "b.py": "y=2\n", "README.md": "x=1\n"}
    assert format.format_files(files, "package", frozenset({"y=2\n"})) == {"a.py": "x = 1\n", "b.py": "y=2\n", "README.md": "x=1\n"}
