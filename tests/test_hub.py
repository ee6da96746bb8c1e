"""Hub downloads: fetched once by training into artifacts/; the inference package never downloads at run time."""

from __future__ import annotations

import os
import subprocess
import sys

from nbextract.cli import main

SOURCE = '''\
class TinyModel:
    """Stands in for a hub model: every download is logged."""

    @classmethod
    def from_pretrained(cls, name):
        with open("downloads.log", "a") as log:
            log.write(name + "\\n")
        return cls()

    def predict(self, texts):
        return [len(text) for text in texts]


model = TinyModel.from_pretrained("org/tiny-model")
texts = ["a", "bb", "ccc"]
y_pred = model.predict(texts)
'''


def test_hub_model_is_fetched_by_training_only(tmp_path, capsys):
    source_dir = tmp_path / "research"
    source_dir.mkdir()
    (source_dir / "hub_model.py").write_text(SOURCE)
    out = tmp_path / "pkg"
    assert main(["convert", str(source_dir / "hub_model.py"), "-o", str(out)]) == 0
    report = (out / "CONVERSION.md").read_text()
    assert "hub download" in report and "TinyModel.from_pretrained" in report
    for module in (out / "src" / "hub_model").glob("*.py"):
        if module.name != "helpers.py":
            assert "from_pretrained(" not in module.read_text(), module.name

    subprocess.run([sys.executable, "training/train.py"], cwd=out, check=True, capture_output=True)
    assert (out / "downloads.log").read_text() == "org/tiny-model\n"
    assert (out / "artifacts" / "model.joblib").is_file()

    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    check = "import hub_model; print(hub_model.predict(['abcd', 'e']))"
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[4, 1]"
    assert (out / "downloads.log").read_text() == "org/tiny-model\n"
