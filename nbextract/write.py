"""Stage 8: write the project atomically: build it in a temporary folder beside OUT, then move it into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import UsageError


def check_target(out: Path, force: bool) -> None:
    """Refuse early, before any work, to touch an existing OUT without --force."""
    if out.exists() and not force:
        raise UsageError("output folder exists; pass --force to replace it", path=str(out))
    if out.exists() and not out.is_dir():
        raise UsageError("output exists and is not a folder", path=str(out))


def write_tree(files: dict[str, str | bytes], out: Path, force: bool) -> Path:
    """Write `files` (relative path -> content) as OUT; an existing OUT is replaced only with `force`."""
    out = Path(out).absolute()
    check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    staging.chmod(0o777 & ~current_umask())
    retired = None
    try:
        for relative, content in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if out.exists():
            retired = out.with_name(f".{out.name}.{os.getpid()}.old")
            out.rename(retired)
        staging.rename(out)
    except BaseException:
        if retired is not None and not out.exists():
            retired.rename(out)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and retired.exists() and out.exists():
            shutil.rmtree(retired, ignore_errors=True)
    return out


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
