"""Stage 8: write the project atomically: build it in a temporary folder beside OUT, then move it into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import UsageError


def check_target(out: Path, force: bool) -> None:
    """Refuse early, before any work, to touch an existing OUT without --force."""
    try:
        exists, folder = out.exists(), out.is_dir()
    except OSError as error:
        raise unwritable(error, out) from None
    if exists and not force:
        raise UsageError("output folder exists; pass --force to replace it", path=str(out))
    if exists and not folder:
        raise UsageError("output exists and is not a folder", path=str(out))


def kept_paths(source: Path | None = None, template_dir: Path | None = None) -> dict[Path, str]:
    """What no OUT may be or hold, since replacing OUT deletes all it holds: the current folder, the source and the
    template folder (path -> how a message names it)."""
    kept = {Path(source): "the source"} if source is not None else {}
    if template_dir is not None:
        kept[Path(template_dir)] = "the template folder"
    return {**kept, Path.cwd(): "the current folder"}


def refuse_holding(outs: Iterable[Path], kept: Mapping[Path, str]) -> None:
    """Refuse, with or without --force, an OUT that is or holds one of `kept` (the link itself, or what it points to)."""
    holders: dict[Path, tuple[str, Path, bool]] = {}
    for path, label in kept.items():
        for real in (replaced_path(path), resolved(path)):
            for folder in (real, *real.parents):
                holders.setdefault(folder, (label, path, folder == real))
    for out in outs:
        if replaced_path(out) in holders:
            label, path, same = holders[replaced_path(out)]
            raise UsageError(f"the output folder {'is' if same else 'holds'} {label} {path}; choose another with -o", path=str(out))


def replaced_path(path: Path) -> Path:
    """The entry that writing `path` replaces: its folder resolved, its own name kept (a link is replaced, not followed)."""
    path = Path(path).absolute()
    return resolved(path) if path.name in ("", "..") else resolved(path.parent) / path.name


def resolved(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of links (Python < 3.13)
        raise UsageError(f"cannot resolve: {getattr(error, 'strerror', None) or error}", path=str(path)) from None


def write_tree(files: dict[str, str | bytes], out: Path, force: bool, inside: Path | None = None) -> Path:
    """Write `files` (relative path -> content) as OUT; an existing OUT is replaced only with `force`. A failure of
    the file system (full, read-only, a name too long) is a UsageError naming OUT, and leaves nothing behind. With
    `inside`, OUT is refused when its folder leads outside that folder, checked again just before OUT is moved into
    place (a folder swapped for a link while the project was built)."""
    given = Path(out).absolute()
    check_target(given, force)
    out = replaced_path(given)
    refuse_outside(out, inside)
    created = missing_ancestor(out.parent)
    try:
        moved_into_place(files, out, inside)
    except OSError as error:
        raise unwritable(error, given) from None
    finally:
        if created is not None and not os.path.lexists(out):
            shutil.rmtree(created, ignore_errors=True)
    return given


def refuse_outside(out: Path, inside: Path | None) -> None:
    if inside is not None and not replaced_path(out).is_relative_to(resolved(inside)):
        raise UsageError("the output folder leads outside the root folder; choose a folder inside it", path=str(out))


def write_files(folder: Path, files: dict[str, str | bytes]) -> None:
    """Writes each file at its relative path under folder: bytes as they are, text as UTF-8."""
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def moved_into_place(files: dict[str, str | bytes], out: Path, inside: Path | None = None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    retired = None
    try:
        staging.chmod(0o777 & ~current_umask())
        write_files(staging, files)
        refuse_outside(out, inside)
        if out.is_symlink() or out.exists():
            retired = out.with_name(f".{out.name}.{os.getpid()}.old")
            out.rename(retired)
        staging.rename(out)
    except BaseException:
        if retired is not None and not out.exists():
            retired.rename(out)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and out.exists():
            removed(retired)


def removed(path: Path) -> None:
    """Delete a retired OUT: a link itself (never what it points to), or a folder with all it holds."""
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def missing_ancestor(folder: Path) -> Path | None:
    """The outermost of `folder` and its parents that does not exist yet (what writing below it creates), or None."""
    missing = None
    for candidate in (folder, *folder.parents):
        try:
            if candidate.exists():
                return missing
        except OSError:  # a name too long, a folder that cannot be searched: nothing below it can be created
            return missing
        missing = candidate
    return missing


def unwritable(error: OSError, out: Path) -> UsageError:
    """The one line of a failure of the file system (full, read-only, a name too long) while writing `out`."""
    if isinstance(error, FileExistsError):  # creating a folder where a file is
        return UsageError(f"cannot write: {error.filename} is a file, not a folder", path=str(out))
    return UsageError(f"cannot write: {error.strerror or error}", path=str(out))


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
