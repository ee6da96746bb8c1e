"""nbextract/runtime/skops_state.py, scikit-learn fitted state through skops.io (--skops): kept as skops with the types
to trust in the manifest, or saved as joblib beside it when skops cannot keep it safely, and loaded as the manifest
says, after the sha256 check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skops")
pandas = pytest.importorskip("pandas")

from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler  # noqa: E402

from nbextract.runtime import artifacts, skops_state  # noqa: E402

X = np.abs(np.random.default_rng(0).normal(size=(40, 3)))
Y = (X[:, 0] > X[:, 1]).astype(int)


@dataclass(frozen=True)
class Settings:
    artifacts_dir: str


class Clipped:
    """A class of the source, held inside an estimator: skops would have to import this module to load it."""

    def __call__(self, values):
        return np.clip(values, -2, 2)


def doubled(values):
    """A function of the source (a lambda would be refused by joblib as well: pickle cannot name it)."""
    return values * 2


def fitted(*steps) -> object:
    return make_pipeline(*steps, LogisticRegression()).fit(X, Y)


def saved(root: Path, value: object) -> Path:
    """`value` saved as the skops artifact model.skops of a set committed into `root`; the file it is in."""
    settings = artifacts.staged(Settings(str(root)))
    path = skops_state.saved_state(settings, Path(settings.artifacts_dir) / "model.skops", value)
    artifacts.commit(settings)
    return root / path.name


def entry_of(root: Path, name: str) -> dict:
    return {entry["path"]: entry for entry in artifacts.read_manifest(root)["files"]}[name]


KEPT = [
    ("scaler-and-model", lambda: fitted(StandardScaler())),
    ("numpy-function", lambda: fitted(FunctionTransformer(np.log1p))),
    ("encoder", lambda: fitted(OneHotEncoder(handle_unknown="ignore", sparse_output=False))),
    ("imputer-holding-a-dtype", lambda: fitted(SimpleImputer(strategy="median"))),
]


@pytest.mark.parametrize("make", [case[1] for case in KEPT], ids=[case[0] for case in KEPT])
def test_a_pipeline_of_the_scientific_stack_round_trips_through_skops_with_its_trusted_types(tmp_path, make, caplog):
    import skops.io

    model = make()
    path = saved(tmp_path, model)
    entry = entry_of(tmp_path, "model.skops")
    assert path.name == "model.skops" and not (tmp_path / "model.joblib").exists()
    assert entry["format"] == "skops" and entry["trusted"] == skops.io.get_untrusted_types(file=path)
    assert set(entry["libraries"]) == {"scikit-learn", "skops"}
    assert caplog.messages == []
    assert skops_state.stored_paths(tmp_path, ["model.skops"]) == ["model.skops"]
    artifacts.verified(tmp_path, ["model.skops"])
    loaded = skops_state.loaded_state(tmp_path, "model.skops")
    assert loaded.predict_proba(X).tolist() == model.predict_proba(X).tolist()


FOREIGN = [
    ("function-of-the-source", lambda: fitted(FunctionTransformer(doubled)), "type test_runtime_skops.doubled is not from sklearn, numpy, scipy"),
    ("class-of-the-source", lambda: fitted(FunctionTransformer(Clipped())), "type test_runtime_skops.Clipped is not from sklearn, numpy, scipy"),
    ("pandas-frame", lambda: pandas.DataFrame({"a": [1.0, 2.0]}), "skops.io.dump raised TypeError: "),
]


@pytest.mark.parametrize("make, why", [case[1:] for case in FOREIGN], ids=[case[0] for case in FOREIGN])
def test_a_value_with_a_foreign_type_falls_back_to_joblib_and_says_so(tmp_path, make, why, caplog):
    value = make()
    path = saved(tmp_path, value)
    assert path.name == "model.joblib" and not (tmp_path / "model.skops").exists()
    [said] = [record for record in caplog.records if record.name.endswith("skops_state")]
    assert said.levelname == "WARNING" and "\n" not in said.getMessage()
    assert said.getMessage().startswith(f"model.skops: saved as model.joblib with joblib, not skops: {why}")
    entry = entry_of(tmp_path, "model.joblib")
    assert entry["format"] == "joblib" and "trusted" not in entry and "skops" not in entry["libraries"]
    assert skops_state.stored_paths(tmp_path, ["model.skops", "input_profile.json"]) == ["model.joblib", "input_profile.json"]
    artifacts.verified(tmp_path, ["model.joblib"])
    loaded = skops_state.loaded_state(tmp_path, "model.skops")
    assert type(loaded) is type(value)


def test_a_tampered_skops_file_is_refused_by_the_hash_check_in_one_line(tmp_path):
    path = saved(tmp_path, fitted(StandardScaler()))
    content = bytearray(path.read_bytes())
    content[-1] ^= 1
    path.write_bytes(bytes(content))
    with pytest.raises(artifacts.ArtifactError, match="model.skops: sha256 differs from the manifest") as refused:
        artifacts.verified(tmp_path, skops_state.stored_paths(tmp_path, ["model.skops"]))
    assert "\n" not in str(refused.value)


def test_a_skops_file_is_loaded_trusting_only_what_its_manifest_lists(tmp_path):
    """A manifest edited to list no trusted types: skops refuses the file rather than loading what it names."""
    import skops.io

    saved(tmp_path, fitted(SimpleImputer()))
    manifest = artifacts.read_manifest(tmp_path)
    assert entry_of(tmp_path, "model.skops")["trusted"] == ["numpy.dtype"]
    for entry in manifest["files"]:
        entry.pop("trusted", None)
    artifacts.write_manifest(tmp_path, manifest)
    with pytest.raises(skops.io.exceptions.UntrustedTypesFoundException, match="numpy.dtype"):
        skops_state.loaded_state(tmp_path, "model.skops")
