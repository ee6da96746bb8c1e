"""Atomic writes: built beside OUT, moved into place; an interruption leaves OUT as it was and nothing else."""

from __future__ import annotations

import pytest

from nbextract.errors import UsageError
from nbextract.write import write_tree


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
