"""Versioned artifact sets: what training writes, and the check before anything is loaded.

The current set is the top of artifacts/ (artifacts/model.joblib, ...), with manifest.json naming its version
(the UTC time of training and the start of the set's content hash) and, for each file, its sha256, size, format
and the library versions that wrote it. Training writes a new set beside the current one (a staging folder), then
moves the current set into artifacts/versions/VERSION/ and the new one into its place; the manifest is written
last. A version name (the model_version setting) selects an older set: rollback. Nothing is loaded from a set whose
files do not match its manifest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from importlib import metadata
from pathlib import Path

MANIFEST = "manifest.json"
METRICS = "metrics.json"
VERSIONS = "versions"
CURRENT = "current"
WRITTEN = ".written.json"
STAGING_PREFIX = ".staging-"
CHUNK = 1 << 20
FORMAT_WRITERS = {
    "joblib": ("joblib",),
    "skops": ("skops",),
    "torch": ("torch",),
    "state_dict": ("torch",),
    "safetensors": ("safetensors", "torch"),
    "pretrained": ("transformers",),
}


class ArtifactError(ValueError):
    """An artifact set that is missing, unversioned or does not match its manifest."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def set_folder(root: Path, version: str) -> Path:
    """The folder of the set `version` names: the top of `root` for the current set, else versions/VERSION."""
    if version == CURRENT or not (root / MANIFEST).exists():
        return root
    if read_manifest(root).get("version") == version:
        return root
    folder = root / VERSIONS / version
    if not (folder / MANIFEST).is_file():
        raise ArtifactError(
            f"no artifact set {version!r} in {root}; there are: {', '.join(versions(root)) or 'none'}"
        )
    return folder


def root_of(folder: Path) -> Path:
    """The artifacts folder a set folder belongs to (itself for the current set)."""
    return folder.parents[1] if folder.parent.name == VERSIONS else folder


def versions(root: Path) -> list[str]:
    """The version names of every set under `root`, oldest first, the current one last."""
    older = sorted(path.parent.name for path in (root / VERSIONS).glob(f"*/{MANIFEST}"))
    current = [read_manifest(root)["version"]] if (root / MANIFEST).exists() else []
    return [*older, *current]


def version_of(folder: Path) -> str:
    """The version of the set in `folder`; empty when it holds none (nothing trained)."""
    return read_manifest(folder)["version"] if (folder / MANIFEST).is_file() else ""


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise ArtifactError(
            f"{folder} holds no {MANIFEST} (no verified artifact set); run `python training/train.py`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def verified(folder: Path, needed: list[str]) -> dict:
    """The manifest of the set in `folder`, once every file it lists has its recorded size and sha256 and every
    `needed` path (a file, or a folder of files) is one it lists; else one ArtifactError line naming the file.
    """
    manifest = read_manifest(folder)
    listed = {entry["path"]: entry for entry in manifest["files"]}
    for name in needed:
        if name not in listed and not any(
            path.startswith(f"{name}/") for path in listed
        ):
            raise ArtifactError(
                f"{folder / name}: not in {MANIFEST} of version {manifest['version']}; refusing to load it"
            )
    for path, entry in listed.items():
        problem = mismatch(folder / path, entry)
        if problem:
            raise ArtifactError(
                f"{folder / path}: {problem} (version {manifest['version']}); refusing to load it"
            )
    return manifest


def mismatch(path: Path, entry: dict) -> str:
    """Why the file differs from its manifest entry; empty when it does not."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size != entry["size"]:
        return f"size {path.stat().st_size} bytes, manifest says {entry['size']}"
    if sha256_of(path) != entry["sha256"]:
        return "sha256 differs from the manifest"
    return ""


def noted(metrics: dict, name: str, value):
    """`value`, kept in `metrics` as `name` when it is one number (a metric the source's evaluation computed)."""
    number = (
        value.item()
        if hasattr(value, "item") and getattr(value, "size", 1) == 1
        else value
    )
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        metrics[name] = number
    return value


def save_metrics(settings, metrics: dict) -> None:
    """The metrics of the source's evaluation, into the set being trained (metrics.json, read by README's card)."""
    path = Path(settings.artifacts_dir) / METRICS
    path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def staged(settings):
    """`settings` with artifacts_dir a new staging folder inside the artifacts folder, where training writes."""
    root = root_of(Path(settings.artifacts_dir))
    root.mkdir(parents=True, exist_ok=True)
    for left in root.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(left, ignore_errors=True)  # a training run that stopped half-way
    return dataclasses.replace(
        settings, artifacts_dir=tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root)
    )


def record(settings, path: Path, kind: str, value: object, **details) -> None:
    """Note, in the staging folder, the format of a file (or folder) just written, the libraries that wrote it and
    the `details` its manifest entry keeps (the types a skops file is loaded trusting).
    """
    staging = Path(settings.artifacts_dir)
    notes_file = staging / WRITTEN
    notes = (
        json.loads(notes_file.read_text(encoding="utf-8"))
        if notes_file.exists()
        else {}
    )
    relative = path.relative_to(staging).as_posix()
    notes[relative] = {"format": kind, "libraries": libraries(kind, value), **details}
    notes_file.write_text(json.dumps(notes, indent=2) + "\n", encoding="utf-8")


def libraries(kind: str, value: object) -> dict[str, str]:
    """Distribution -> version of the library the value's class comes from and of those writing `kind`."""
    module = type(value).__module__.split(".")[0]
    names = {
        *FORMAT_WRITERS.get(kind, ()),
        *metadata.packages_distributions().get(module, []),
    }
    return {name: distribution_version(name) for name in sorted(names, key=str.lower)}


def distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def commit(settings, written_at: float | None = None) -> str:
    """Make the staging folder of `settings` the current set: its manifest written, the previous current set moved
    to versions/; the new version's name."""
    staging = Path(settings.artifacts_dir)
    root = staging.parent
    files = manifest_entries(staging)
    version = version_name(files, time.time() if written_at is None else written_at)
    manifest = {"version": version, "python": platform.python_version(), "files": files}
    # the same set trained again within a second replaces itself
    if version_of(root) not in ("", version):
        archive(root)
    for entry in files:
        target = root / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / entry["path"], target)
    write_manifest(root, manifest)
    shutil.rmtree(staging)
    return version


def manifest_entries(staging: Path) -> list[dict]:
    """path, sha256, size, format, libraries and the noted details of each staged file, by path."""
    notes_file = staging / WRITTEN
    notes = (
        json.loads(notes_file.read_text(encoding="utf-8"))
        if notes_file.exists()
        else {}
    )
    notes_file.unlink(missing_ok=True)
    entries = []
    for path in sorted(item for item in staging.rglob("*") if item.is_file()):
        relative = path.relative_to(staging).as_posix()
        note = next(
            (
                notes[name]
                for name in notes
                if relative == name or relative.startswith(f"{name}/")
            ),
            None,
        )
        entries.append(
            {
                "path": relative,
                "sha256": sha256_of(path),
                "size": path.stat().st_size,
                "format": path.suffix.lstrip(".") or "file",
                "libraries": {},
                **(note or {}),
            }
        )
    return entries


def version_name(files: list[dict], written_at: float) -> str:
    """UTC time of writing, then the first 12 hex digits of the hash of every file's path and sha256."""
    digest = hashlib.sha256(
        "".join(f"{entry['path']}\0{entry['sha256']}\n" for entry in files).encode()
    )
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(written_at))}-{digest.hexdigest()[:12]}"


def archive(root: Path) -> None:
    """Move the current set (the files its manifest lists, and the manifest) into versions/VERSION/."""
    manifest = read_manifest(root)
    folder = root / VERSIONS / manifest["version"]
    for entry in manifest["files"]:
        source = root / entry["path"]
        if source.exists():
            (folder / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, folder / entry["path"])
    folder.mkdir(parents=True, exist_ok=True)
    os.replace(root / MANIFEST, folder / MANIFEST)
    for parent in sorted(
        {(root / entry["path"]).parent for entry in manifest["files"]}, reverse=True
    ):
        if parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def write_manifest(folder: Path, manifest: dict) -> None:
    """Written beside, then moved into place: a reader sees the old manifest or the new one, never half of one."""
    partial = folder / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder / MANIFEST)
