"""Findings (one check per kind) and `nbextract scan`: text and JSON, folders, exit status for pre-commit and CI."""

from __future__ import annotations

import json

import pytest

from nbextract.analyze import analyse
from nbextract.cli import main
from nbextract.findings import find_all

CASES = [
    ('df = pd.read_csv("/home/alice/data/train.csv")\n', "hard-coded path", "line 1"),
    ('model.to("cuda:0")\n', "pinned device", "line 1"),
    ("device = 'cuda'\n", "pinned device", "line 1"),
    ("x = 1\nnet = net.cuda()\n", "pinned device", "line 2"),
    ('from transformers import AutoModel\nm = AutoModel.from_pretrained("bert-base-uncased")\n', "hub download", "line 2"),
    ('import torch\nm = torch.hub.load("pytorch/vision", "resnet18")\n', "hub download", "line 2"),
    ('import requests\nr = requests.get("https://example.org/model.bin")\n', "hub download", "line 2"),
    ('TOKEN = "ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG"\n', "secret", "line 1"),
    ("from os import *\n", "star import", "line 1"),
]
CLEAN = [
    'df = pd.read_csv("data/train.csv")\n',
    'device = "cpu"\n',
    "import torch\nx = torch.zeros(3)\n",
    'api_key = os.environ["API_KEY"]\n',
]


def findings_of(tmp_path, code):
    path = tmp_path / "source.py"
    path.write_text(code)
    return find_all(analyse(path))


@pytest.mark.parametrize("code, kind, origin", CASES, ids=[case[1] + ":" + case[0][:24] for case in CASES])
def test_finding(tmp_path, code, kind, origin):
    assert (kind, origin) in {(finding.kind, finding.origin) for finding in findings_of(tmp_path, code)}


@pytest.mark.parametrize("code", CLEAN, ids=[code[:24] for code in CLEAN])
def test_no_finding(tmp_path, code):
    assert findings_of(tmp_path, code) == []


def test_unpinned_install_magic(make_notebook):
    notebook = make_notebook(["!pip install scikit-learn==1.5 pandas\nimport pandas as pd\n"])
    kinds = [(finding.kind, finding.message) for finding in find_all(analyse(notebook))]
    assert [message for kind, message in kinds if kind == "unpinned install"] == ["!pip install pandas has no version"]


def test_scan_exit_status_and_json(tmp_path, capsys):
    (tmp_path / "clean.py").write_text("x = 1\n")
    assert main(["scan", str(tmp_path / "clean.py")]) == 0
    (tmp_path / "dirty.py").write_text('device = "cuda:1"\nSECRET_TOKEN = "Zq8Lm3Xv9Tr2Wp7Ks4Nd6Hb1Jc5Yf0Ga"\n')
    capsys.readouterr()
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    kinds = sorted(finding["kind"] for finding in data["files"][str(tmp_path / "dirty.py")])
    assert kinds == ["pinned device", "secret"]
    assert "Zq8Lm3Xv" not in json.dumps(data)
    assert data["files"][str(tmp_path / "clean.py")] == []


def test_scan_skips_environment_folders_and_reports_unreadable_files(tmp_path, capsys):
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "x.py").write_text('device = "cuda:0"\n')
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert main(["scan", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert ".venv" not in out
    assert "broken.ipynb" in out and "not scanned" in out


def test_sample_notebooks_planted_problems_are_all_found(capsys):
    assert main(["scan", "sample_notebooks"]) == 1
    out = capsys.readouterr().out
    for sample in ("churn_column_transformer.ipynb", "iris_training_script.py", "fruit_label_encoder_percent.py"):
        assert f"{sample}: " in out
    assert out.count(": secret: ") >= 10


def test_secret_set_by_env_magic_is_reported_without_its_value(make_notebook, capsys):
    notebook = make_notebook(["%env WANDB_API_KEY=93fd21b5c0a44e7f9b2d1c8e6a5f4b3c2d1e0f9a\n%env WANDB_MODE=offline\nx = 1\n"])
    assert main(["scan", str(notebook)]) == 1
    out = capsys.readouterr().out
    assert "secret set by %env; read it from $WANDB_API_KEY" in out
    assert "WANDB_MODE" not in out and "93fd21b5" not in out and "0f9a" not in out


# --- secrets outside the code: markdown, shell lines, cells that do not parse, metadata, outputs --------------------

OPENAI = "sk-proj-Zq8vLm3nRt6wXy2bKd9fPz4Qa7Ue1"
UNCONVERTED = [
    # cells, the origin and words of the finding
    ([("Call the API with `api_key=Zq8vLm3nRt6wXy2bKd9f` for now", (), "markdown"), "x = 1\n"], "cell 1, line 1", "api key in a markdown cell"),
    (["x = 1\n!curl -H 'Authorization: Bearer Zq8vLm3nRt6wXy2bKd9fPz4Qa' https://api.example.com\n"], "cell 1, line 2", "bearer token in a !curl line"),
    (["!pip install --index-url https://deploy:Pz4Kd9fXy2bRt6w@pypi.example.com/simple foo==1.0\nx = 1\n"], "cell 1, line 1", "password in connection string in a !pip line"),
    (["!wget --header='Authorization: token Y6uB0nC5dE8hJ2aGq4fV' https://example.com/d.csv\nx = 1\n"], "cell 1, line 1", "token credentials in a !wget line"),
    (["%%bash\necho start\ncurl -u ml:s3cr3tPa55 https://ml:s3cr3tPa55@example.com/x\n", "x = 1\n"], "cell 1, line 3", "in a %%bash cell"),
    (["x = 1\n", f'key = "{OPENAI}"\nif True print(key)\n'], "cell 2, line 1", "openai api key in a cell that does not parse"),
]


@pytest.mark.parametrize("cells, origin, words", UNCONVERTED, ids=[case[2] for case in UNCONVERTED])
def test_secret_outside_the_code_is_reported(make_notebook, capsys, cells, origin, words):
    assert main(["scan", str(make_notebook(cells))]) == 1
    out = capsys.readouterr().out
    assert any(f": {origin}: secret: " in line and words in line for line in out.splitlines()), out
    assert not any(piece in out for piece in ("Zq8vLm3n", "Pz4Kd9fX", "Y6uB0nC5", "s3cr3tPa", OPENAI[-8:]))


def test_secrets_stored_in_metadata_and_outputs_are_reported(make_notebook, capsys):
    path = make_notebook(["print(1)\n", "x = 1\n"])
    notebook = json.loads(path.read_text())
    notebook["metadata"]["wandb"] = {"api_key": "W8kQ2mZ7xL1pR9sT3wY6uB"}
    notebook["cells"][1]["metadata"]["secret_token"] = "E5dE8hJ2aGq4fV8kQ2mZ7x"
    notebook["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [f"using {OPENAI}\n"]}]
    path.write_text(json.dumps(notebook))
    assert main(["scan", str(path)]) == 1
    out = capsys.readouterr().out
    for place in ("notebook metadata", "cell 2, metadata", "cell 1, outputs"):
        assert f": {place}: secret: " in out, out
    assert not any(piece in out for piece in ("W8kQ2mZ7", "E5dE8hJ2", OPENAI[-8:]))


def test_plots_and_ids_stored_in_a_notebook_are_not_secrets(make_notebook, capsys):
    inline = "![loss](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)"
    path = make_notebook(["x = 1\n", (inline, (), "markdown")])
    notebook = json.loads(path.read_text())
    notebook["metadata"]["colab"] = {"provenance": [], "id": "1Xk9LmQ2vR7tW3yB8nC4dF6gH0jK5pZaE"}
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    notebook["cells"][0]["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": "<Figure>"}}]
    path.write_text(json.dumps(notebook))
    assert main(["scan", str(path)]) == 0, capsys.readouterr().out
