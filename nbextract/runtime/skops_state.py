"""scikit-learn fitted state saved with skops.io, whose loading runs no code, where its types
allow, and with joblib otherwise (a package converted with --skops holds this module).

Training dumps the value with skops.io, then asks skops which types in the file it would
not load without being told to trust them. When each of them comes from a module of
TRUSTED_MODULES (the scientific stack the package already requires), the file stays and
its manifest entry lists them as "trusted"; loading passes exactly that list to
skops.io.load, after the set's sha256 check. When the dump raises, or a type comes from
anywhere else (a class or function of the source, pandas), the file is removed and the
value saved beside it with joblib (VAR.joblib), with one warning line saying which type
and why (logged: on stderr when training configures no logging). Loading follows the
manifest: the entry of VAR.skops, else the one of VAR.joblib.
"""

from __future__ import annotations

import logging
from pathlib import Path

import joblib

from .artifacts import read_manifest, record

# top-level module -> why a skops file may name its types: the package requires it already
TRUSTED_MODULES = {
    "sklearn": "scikit-learn: estimators, transformers and the helpers they hold",
    "numpy": "numpy: arrays, dtypes, random generators and functions such as log1p",
    "scipy": "scipy: sparse matrices and the distributions of parameter searches",
}
FALLBACK_SUFFIX = ".joblib"

logger = logging.getLogger(__name__)


def saved_state(settings, path: Path, value: object) -> Path:
    """The file `value` is now in: `path`, written with skops.io and recorded with the
    types to trust, or its joblib fallback when skops.io cannot keep it safely."""
    problem, untrusted = skops_problem(path, value)
    if not problem:
        record(settings, path, "skops", value, trusted=untrusted)
        return path
    path.unlink(missing_ok=True)
    fallback = path.with_suffix(FALLBACK_SUFFIX)
    logger.warning(
        "%s: saved as %s with joblib, not skops: %s", path.name, fallback.name, problem
    )
    joblib.dump(value, fallback)
    record(settings, fallback, "joblib", value)
    return fallback


def skops_problem(path: Path, value: object) -> tuple[str, list[str]]:
    """`value` dumped at `path` with skops.io; why the file cannot stay (empty when it
    can) and the types skops must be told to trust to load it."""
    import skops.io

    try:
        skops.io.dump(value, path)
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as error:  # skops refuses what it cannot represent, in many kinds
        message = next(iter(str(error).splitlines()), "")
        return f"skops.io.dump raised {type(error).__name__}: {message}", []
    foreign = [name for name in untrusted if name.split(".")[0] not in TRUSTED_MODULES]
    if foreign:
        return f"type {foreign[0]} is not from {', '.join(TRUSTED_MODULES)}", untrusted
    return "", untrusted


def stored_paths(folder: Path, paths: list[str]) -> list[str]:
    """`paths` (in the set folder `folder`) as its manifest holds them: a skops file
    training fell back from is its joblib file."""
    files = listed(folder)
    return [stored(files, path) for path in paths]


def loaded_state(folder: Path, path: str) -> object:
    """The value of the skops artifact `path` of the (verified) set in `folder`, read as
    its manifest entry says: skops.io trusting the types it lists (none when it lists
    none: skops then refuses a file naming any), or joblib."""
    files = listed(folder)
    entry = files[stored(files, path)]
    if entry["format"] == "joblib":
        return joblib.load(folder / entry["path"])
    import skops.io

    return skops.io.load(folder / entry["path"], trusted=entry.get("trusted", []))


def listed(folder: Path) -> dict[str, dict]:
    """The manifest entries of the set in `folder`, by path."""
    return {entry["path"]: entry for entry in read_manifest(folder)["files"]}


def stored(files: dict[str, dict], path: str) -> str:
    """`path`, or its joblib fallback when the manifest lists that instead."""
    fallback = Path(path).with_suffix(FALLBACK_SUFFIX).as_posix()
    return fallback if path not in files and fallback in files else path
