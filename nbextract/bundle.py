"""Training data that travels with OUT: the files `training/train.py` reads (config entries whose use is "reads"),
copied from beside the source to the same relative path under OUT, so that training runs wherever OUT is moved.

A folder training reads (a local model: `from_pretrained("tiny-model")`) travels with the regular files under it.
Only regular files inside the source's folder are copied, and only while they add up to at most MAX_BYTES; the rest
stay where they are, and the generated README's "Training data" table says where to put them.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from .context import Setting

MAX_BYTES = 32 * 1024 * 1024


def training_data(settings: list[Setting], source_folder: Path) -> dict[str, bytes]:
    """Relative path under OUT -> bytes, for each data file training reads that can travel with the project."""
    files: dict[str, bytes] = {}
    total = 0
    for found in regular_files(data_paths(settings), source_folder):
        size = found.stat().st_size
        if total + size > MAX_BYTES:
            continue
        files[found.relative_to(source_folder).as_posix()] = found.read_bytes()
        total += size
    return files


def regular_files(paths: list[PurePosixPath], source_folder: Path) -> list[Path]:
    """The regular files inside the source's folder (links followed only if they stay inside) that the paths name:
    a file, or the files under a folder."""
    inside = source_folder.resolve()
    found: list[Path] = []
    for relative in paths:
        path = source_folder / relative
        candidates = sorted(path.rglob("*")) if path.is_dir() and not path.is_symlink() else [path]
        found += [file for file in candidates if is_regular_inside(file, inside)]
    return list(dict.fromkeys(found))


def is_regular_inside(file: Path, inside: Path) -> bool:
    return file.is_file() and file.resolve().is_relative_to(inside)


def data_paths(settings: list[Setting]) -> list[PurePosixPath]:
    """The relative paths, inside the project, of the files training reads (no absolute path, no `..`)."""
    paths = [PurePosixPath(str(setting.value)) for setting in settings if setting.use == "reads" and isinstance(setting.value, str)]
    return [path for path in dict.fromkeys(paths) if not path.is_absolute() and ".." not in path.parts and path.parts]
