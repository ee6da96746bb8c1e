"""Atomic writes: built beside OUT, moved into place; an interruption or a failure of the file system leaves OUT as it
was and nothing else; no OUT may be or hold what is not ours to replace."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from nbextract.errors import UsageError
from nbextract import write as write_module
from nbextract.write import refuse_holding, write_tree


class InterruptedFiles(dict):
    """Files whose iteration is interrupted (Ctrl-C) after the first one is written."""

    def items(self):
        iterator = iter(super().items())
        yield next(iterator)
        raise KeyboardInterrupt


def leftovers(parent, name):
    return sorted(path.name for path in parent.iterdir() if path.name.startswith(f".{name}."))


def test_writes_a_tree(tmp_path):
    out = write_tree({"a.txt": "A", "src/pkg/b.py": "B = 1\n", "data.bin": b"\x00\x01"}, tmp_path / "out", force=False)
    assert (out / "a.txt").read_text() == "A"
    assert (out / "src" / "pkg" / "b.py").read_text() == "B = 1\n"
    assert (out / "data.bin").read_bytes() == b"\x00\x01"
    assert out.stat().st_mode & 0o777 != 0o700
    assert leftovers(tmp_path, "out") == []


def test_existing_output_is_never_touched_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(UsageError, match="--force"):
        write_tree({"a.txt": "A"}, out, force=False)
    assert [path.name for path in out.iterdir()] == ["mine.txt"]


def test_force_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "out"
    write_tree({"old.txt": "old"}, out, force=False)
    write_tree({"new.txt": "new"}, out, force=True)
    assert [path.name for path in out.iterdir()] == ["new.txt"]
    assert leftovers(tmp_path, "out") == []


@pytest.mark.parametrize("existing", [False, True], ids=["new-output", "replacing-output"])
def test_interrupted_write_leaves_nothing_behind(tmp_path, existing):
    out = tmp_path / "out"
    if existing:
        write_tree({"old.txt": "old"}, out, force=False)
    with pytest.raises(KeyboardInterrupt):
        write_tree(InterruptedFiles({"a.txt": "A", "b.txt": "B"}), out, force=True)
    assert leftovers(tmp_path, "out") == []
    if existing:
        assert [path.name for path in out.iterdir()] == ["old.txt"]
    else:
        assert not out.exists()


def test_force_on_a_linked_output_replaces_the_link_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "elsewhere"
    write_tree({"old.txt": "old"}, target, force=False)
    out = tmp_path / "out"
    out.symlink_to(target, target_is_directory=True)
    write_tree({"new.txt": "new"}, out, force=True)
    assert not out.is_symlink() and [path.name for path in out.iterdir()] == ["new.txt"]
    assert [path.name for path in target.iterdir()] == ["old.txt"]
    assert leftovers(tmp_path, "out") == []


@pytest.mark.parametrize(
    "failure",
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")],
    ids=["disk-full", "read-only", "permission-denied"],
)
@pytest.mark.parametrize("existing", [False, True], ids=["new-output", "replacing-output"])
def test_a_file_system_failure_is_a_usage_error_naming_out_and_leaves_it_as_it_was(tmp_path, monkeypatch, failure, existing):
    out = tmp_path / "made" / "for" / "out"
    if existing:
        write_tree({"old.txt": "old"}, out, force=False)
    number, reason = failure

    def failing(path, *args, **kwargs):
        raise OSError(number, os.strerror(number), str(path))

    monkeypatch.setattr(Path, "write_text", failing)
    with pytest.raises(UsageError) as raised:
        write_tree({"a.txt": "A", "b.bin": b"B"}, out, force=True)
    assert str(raised.value) == f"{out}: cannot write: {reason}"
    if existing:
        assert [path.name for path in out.iterdir()] == ["old.txt"] and leftovers(out.parent, "out") == []
    else:
        assert list(tmp_path.iterdir()) == []


def test_a_name_too_long_is_a_usage_error_and_creates_no_folder(tmp_path):
    out = tmp_path / "made" / ("n" * 300) / "out"
    with pytest.raises(UsageError, match="cannot write: File name too long"):
        write_tree({"a.txt": "A"}, out, force=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("proj", "the output folder holds the source {tmp}/proj/nb.py"),
        (".", "the output folder holds the source {tmp}/proj/nb.py"),
        ("proj/nb.py", "the output folder is the source {tmp}/proj/nb.py"),
        ("proj/..", "the output folder holds the source {tmp}/proj/nb.py"),
        ("work", "the output folder is the current folder {tmp}/work"),
        ("link-to-proj/..", "the output folder holds the source {tmp}/proj/nb.py"),
    ],
)
def test_refuse_holding_names_what_the_output_would_delete(tmp_path, monkeypatch, out, message):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "nb.py").write_text("x = 1\n")
    (tmp_path / "work").mkdir()
    (tmp_path / "link-to-proj").symlink_to(tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    kept = {Path("proj/nb.py"): "the source", tmp_path / "work": "the current folder"}
    with pytest.raises(UsageError) as raised:
        refuse_holding([tmp_path / out], {Path(tmp_path / path): label for path, label in kept.items()})
    assert message.format(tmp=tmp_path) in str(raised.value)


def test_refuse_holding_lets_an_output_beside_the_source_or_a_link_to_its_folder_through(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "proj")
    kept = {tmp_path / "proj" / "nb.py": "the source"}
    refuse_holding([tmp_path / "proj" / "pkg", tmp_path / "pkg", tmp_path / "link"], kept)


def test_an_output_whose_folder_leads_outside_the_root_is_refused(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "sub").symlink_to(outside)
    with pytest.raises(UsageError, match="leads outside the root folder"):
        write_tree({"a.txt": "x"}, root / "sub" / "pkg", force=False, inside=root)
    assert list(outside.iterdir()) == []
    write_tree({"a.txt": "x"}, root / "pkg", force=False, inside=root)
    assert (root / "pkg" / "a.txt").read_text() == "x"


def test_a_folder_swapped_for_a_link_while_the_project_is_built_is_refused(tmp_path, monkeypatch):
    """The check runs again just before OUT is moved into place: once the staging folder exists, `sub` is moved out
    of the root and replaced by a link to where it went; the project must not be moved into place there."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    real_umask = write_module.current_umask

    def swap_then_umask():
        (root / "sub").rename(outside / "sub")
        (root / "sub").symlink_to(outside / "sub")
        return real_umask()

    monkeypatch.setattr(write_module, "current_umask", swap_then_umask)
    with pytest.raises(UsageError, match="leads outside the root folder"):
        write_tree({"a.txt": "x"}, root / "sub" / "pkg", force=False, inside=root)
    assert list((outside / "sub").iterdir()) == []
