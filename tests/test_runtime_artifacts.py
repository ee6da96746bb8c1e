"""nbextract/runtime/artifacts.py, the generated package's versioned artifact sets: staging, committing with a
manifest, archiving the previous set, verifying before loading, rollback by version name, metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from nbextract.runtime import artifacts


@dataclass(frozen=True)
class Settings:
    artifacts_dir: str


def trained(root: Path, files: dict[str, bytes], at: float) -> str:
    """A set of `files` trained into `root` at time `at`; its version."""
    settings = artifacts.staged(Settings(str(root)))
    for name, content in files.items():
        path = Path(settings.artifacts_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if name.endswith(".joblib"):
            artifacts.record(settings, path, "joblib", object())
    return artifacts.commit(settings, written_at=at)


def test_a_committed_set_is_the_top_of_the_folder_with_a_manifest_of_hashes(tmp_path):
    version = trained(tmp_path, {"model.joblib": b"weights", "input_profile.json": b"{}"}, at=0)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert version.startswith("19700101T000000Z-") and manifest["version"] == version
    by_path = {entry["path"]: entry for entry in manifest["files"]}
    assert by_path["model.joblib"]["size"] == 7 and len(by_path["model.joblib"]["sha256"]) == 64
    assert by_path["model.joblib"]["format"] == "joblib" and "joblib" in by_path["model.joblib"]["libraries"]
    assert by_path["input_profile.json"]["format"] == "json"
    assert not list(tmp_path.glob(".staging-*")) and not (tmp_path / "versions").exists()


def test_the_version_is_the_content_hash_after_the_time():
    files = [{"path": "a", "sha256": "0" * 64}]
    assert artifacts.version_name(files, 60).split("-")[1] == artifacts.version_name(files, 120).split("-")[1]
    assert artifacts.version_name(files, 60) != artifacts.version_name([{"path": "a", "sha256": "1" * 64}], 60)


def test_training_again_archives_the_previous_set_and_a_version_selects_it(tmp_path):
    old = trained(tmp_path, {"model.joblib": b"old", "sub/part.bin": b"p"}, at=0)
    new = trained(tmp_path, {"model.joblib": b"new"}, at=60)
    assert (tmp_path / "model.joblib").read_bytes() == b"new" and not (tmp_path / "sub").exists()
    assert (tmp_path / "versions" / old / "model.joblib").read_bytes() == b"old"
    assert artifacts.versions(tmp_path) == [old, new]
    assert artifacts.set_folder(tmp_path, "current") == tmp_path == artifacts.set_folder(tmp_path, new)
    folder = artifacts.set_folder(tmp_path, old)
    assert artifacts.root_of(folder) == tmp_path
    assert artifacts.verified(folder, ["model.joblib", "sub"])["version"] == old


TAMPERING = [
    ("changed-bytes", lambda root: (root / "model.joblib").write_bytes(b"WEIGHTS"), "sha256 differs from the manifest"),
    ("appended", lambda root: (root / "model.joblib").write_bytes(b"weights!"), "size 8 bytes, manifest says 7"),
    ("removed", lambda root: (root / "model.joblib").unlink(), "missing"),
    ("no-manifest", lambda root: (root / "manifest.json").unlink(), "holds no manifest.json"),
]


@pytest.mark.parametrize("tamper, message", [case[1:] for case in TAMPERING], ids=[case[0] for case in TAMPERING])
def test_a_set_that_does_not_match_its_manifest_is_refused_in_one_line(tmp_path, tamper, message):
    trained(tmp_path, {"model.joblib": b"weights"}, at=0)
    tamper(tmp_path)
    with pytest.raises(artifacts.ArtifactError, match=message) as refused:
        artifacts.verified(tmp_path, ["model.joblib"])
    assert "\n" not in str(refused.value)


def test_a_file_the_package_loads_must_be_listed(tmp_path):
    trained(tmp_path, {"model.joblib": b"weights"}, at=0)
    (tmp_path / "scaler.joblib").write_bytes(b"planted")
    with pytest.raises(artifacts.ArtifactError, match="scaler.joblib: not in manifest.json"):
        artifacts.verified(tmp_path, ["model.joblib", "scaler.joblib"])


def test_an_unknown_version_names_those_there_are(tmp_path):
    version = trained(tmp_path, {"model.joblib": b"weights"}, at=0)
    with pytest.raises(artifacts.ArtifactError, match=f"no artifact set 'nope' in .*; there are: {version}"):
        artifacts.set_folder(tmp_path, "nope")


def test_an_untrained_folder_is_its_own_set_with_no_version(tmp_path):
    assert artifacts.set_folder(tmp_path, "current") == tmp_path
    assert artifacts.version_of(tmp_path) == "" and artifacts.versions(tmp_path) == []


def test_a_stopped_training_leaves_nothing_the_next_one_keeps(tmp_path):
    artifacts.staged(Settings(str(tmp_path)))
    trained(tmp_path, {"model.joblib": b"weights"}, at=0)
    assert not list(tmp_path.glob(".staging-*"))


NUMBERS = [
    ("float", 0.5, {"m": 0.5}),
    ("int", 3, {"m": 3}),
    ("bool-is-no-metric", True, {}),
    ("text-is-no-metric", "report", {}),
    ("list-is-no-metric", [1, 2], {}),
]


@pytest.mark.parametrize("value, kept", [case[1:] for case in NUMBERS], ids=[case[0] for case in NUMBERS])
def test_noted_keeps_one_number_and_returns_the_value(value, kept):
    metrics: dict = {}
    assert artifacts.noted(metrics, "m", value) is value
    assert metrics == kept


def test_noted_reads_a_numpy_scalar():
    numpy = pytest.importorskip("numpy")
    metrics: dict = {}
    artifacts.noted(metrics, "m", numpy.float64(0.25))
    assert metrics == {"m": 0.25} and type(metrics["m"]) is float


def test_metrics_are_part_of_the_set(tmp_path):
    settings = artifacts.staged(Settings(str(tmp_path)))
    artifacts.save_metrics(settings, {"accuracy_score": 0.8})
    artifacts.commit(settings)
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"accuracy_score": 0.8}
    assert [entry["path"] for entry in artifacts.read_manifest(tmp_path)["files"]] == ["metrics.json"]
