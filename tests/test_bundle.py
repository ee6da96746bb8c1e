"""bundle.training_data: the data files training reads travel with OUT, at the same relative path, when they sit in
the source's folder and are small enough; anything else stays where it is."""

from __future__ import annotations

import pytest

from nbextract import bundle
from nbextract.context import Setting


def setting(value: object, use: str = "reads") -> Setting:
    return Setting("key", value, "str", "PKG_KEY", "cell 1, line 1", "file read by pd.read_csv", path=True, table="training", use=use)


CASES = {
    "beside-the-source": ("heart.csv", "reads", {"heart.csv"}),
    "in-a-subfolder": ("data/tweets.csv", "reads", {"data/tweets.csv"}),
    "written-by-training": ("out.csv", "writes", set()),
    "absolute": ("/etc/hostname", "reads", set()),
    "above-the-source": ("../secret.csv", "reads", set()),
    "missing": ("nowhere.csv", "reads", set()),
    "not-a-path": (64, "reads", set()),
    "a-folder": ("data", "reads", {"data/tweets.csv"}),
    "a-folder-with-a-slash": ("data/", "reads", {"data/tweets.csv"}),
}


@pytest.mark.parametrize("value, use, copied", CASES.values(), ids=CASES.keys())
def test_which_files_travel(tmp_path, value, use, copied):
    source = tmp_path / "project"
    (source / "data").mkdir(parents=True)
    for name in ("heart.csv", "data/tweets.csv", "out.csv"):
        (source / name).write_text(f"a,b\n1,{name}\n")
    (tmp_path / "secret.csv").write_text("x\n")
    files = bundle.training_data([setting(value, use)], source)
    assert set(files) == copied
    for relative in copied:
        assert files[relative] == (source / relative).read_bytes()


def test_files_beyond_the_bound_stay_where_they_are(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "MAX_BYTES", 10)
    (tmp_path / "small.csv").write_text("a\n1\n")
    (tmp_path / "big.csv").write_text("a\n" + "1\n" * 20)
    files = bundle.training_data([setting("small.csv"), setting("big.csv")], tmp_path)
    assert set(files) == {"small.csv"}


def test_a_link_leading_out_of_the_source_folder_is_not_followed(tmp_path):
    (tmp_path / "outside.csv").write_text("x\n")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "data.csv").symlink_to(tmp_path / "outside.csv")
    assert bundle.training_data([setting("data.csv")], tmp_path / "project") == {}


def test_a_folder_linking_out_of_the_source_folder_brings_nothing_from_outside(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "weights.bin").write_text("x\n")
    (tmp_path / "project" / "model").mkdir(parents=True)
    (tmp_path / "project" / "model" / "config.json").write_text("{}")
    (tmp_path / "project" / "model" / "weights.bin").symlink_to(tmp_path / "elsewhere" / "weights.bin")
    assert set(bundle.training_data([setting("model")], tmp_path / "project")) == {"model/config.json"}
