"""PyTorch and Hugging Face sources convert to packages that pick their device at run time and predict what the source
predicted: trained by training/train.py, then loaded in a fresh process with NAME_DEVICE=cpu and with auto."""

from __future__ import annotations

import ast
import json
import os
import pickle
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

from nbextract.cli import main
from nbextract.knowledge import is_device

pytestmark = pytest.mark.e2e

PREDICT = """
import pickle, sys
from importlib import import_module
package = import_module(sys.argv[1])
with open(sys.argv[2], "rb") as handle:
    value = pickle.load(handle)
with open(sys.argv[3], "wb") as handle:
    pickle.dump(package.Predictor.from_config().predict(value), handle)
"""

TORCH_SCRIPT = '''\
import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, TensorDataset

SEED = 3
device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
torch.manual_seed(SEED)

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=SEED)
scaler = StandardScaler().fit(X_train)


class Net(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_in, 16), nn.ReLU(), nn.Linear(16, n_out))

    def forward(self, x):
        return self.layers(x)


model = Net(X.shape[1], 3).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
loader = DataLoader(
    TensorDataset(torch.tensor(scaler.transform(X_train), dtype=torch.float32), torch.tensor(y_train)),
    batch_size=16,
    shuffle=True,
)
for epoch in range(5):
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()

model.eval()
X_test_t = torch.tensor(scaler.transform(X_test), dtype=torch.float32).to(device)
with torch.no_grad():
    probs = torch.softmax(model(X_test_t), dim=1).cpu().numpy()
'''


def convert_and_train(tmp_path: Path, name: str, source: str, env: dict) -> Path:
    research = tmp_path / "research"
    research.mkdir(exist_ok=True)
    (research / f"{name}.py").write_text(source)
    out = tmp_path / name
    assert main(["convert", str(research / f"{name}.py"), "-o", str(out)]) == 0
    result = subprocess.run([sys.executable, "training/train.py"], cwd=out, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def predict_in_fresh_process(out: Path, name: str, value, env: dict):
    elsewhere = out.parent / f"elsewhere-{name}"
    elsewhere.mkdir(exist_ok=True)
    with open(elsewhere / "input.pickle", "wb") as handle:
        pickle.dump(value, handle)
    command = [sys.executable, "-c", PREDICT, name, "input.pickle", "result.pickle"]
    result = subprocess.run(command, cwd=elsewhere, env={**env, "PYTHONPATH": str(out / "src")}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(elsewhere / "result.pickle", "rb") as handle:
        return pickle.load(handle)


def source_values(out: Path, name: str, *names: str) -> list:
    """Run the source as its author did (in its own folder) and return the named values."""
    research = out.parent / "research"
    cwd = os.getcwd()
    os.chdir(research)
    try:
        namespace = runpy.run_path(str(research / f"{name}.py"), run_name="__main__")
    finally:
        os.chdir(cwd)
    return [namespace[wanted] for wanted in names]


def device_literals(folder: Path) -> list[str]:
    """String literals naming a pinned device (`cuda:0`, `mps`) in the generated code, outside model.resolve_device."""
    found = []
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text())
        skipped = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef) and function.name == "resolve_device"
            for node in ast.walk(function)
        }
        found += [
            f"{path.name}:{node.lineno} {node.value}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and is_device(node.value) and id(node) not in skipped
        ]
    return found


def test_torch_package_has_no_pinned_device_and_predicts_on_cpu_and_auto(tmp_path):
    env = {**os.environ}
    out = convert_and_train(tmp_path, "iris_torch", TORCH_SCRIPT, env)
    manifest = json.loads((out / "nbextract.json").read_text())
    assert (manifest["inputs"][0]["name"], manifest["outputs"][0]["name"]) == ("X_test", "probs")
    formats = {artifact["variable"]: artifact["format"] for artifact in manifest["artifacts"]}
    assert formats == {"model": "state_dict", "scaler": "joblib"}
    assert json.loads((out / "artifacts" / "model" / "arguments.json").read_text()) == {"class": "Net", "args": [4, 3], "kwargs": {}}
    with safe_open(out / "artifacts" / "model" / "weights.safetensors", "pt") as weights:
        assert set(weights.keys()) == {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"}, "tensors only, no pickle"
    files = json.loads((out / "artifacts" / "manifest.json").read_text())["files"]
    assert {entry["path"]: entry["format"] for entry in files}["model/weights.safetensors"] == "safetensors"
    assert any(f["kind"] == "pinned device" for f in manifest["findings"])

    assert device_literals(out / "src") == []
    assert device_literals(out / "training") == []
    config = tomllib.loads((out / "config.toml").read_text())
    assert config["serving"]["device"] == "auto"
    values = [value for table in config.values() for value in table.values()]
    assert not [value for value in values if isinstance(value, str) and is_device(value)]

    X_test, probs = source_values(out, "iris_torch", "X_test", "probs")
    for device in ("cpu", "auto"):
        got = predict_in_fresh_process(out, "iris_torch", X_test, {**env, "IRIS_TORCH_DEVICE": device, "IRIS_TORCH_BATCH_SIZE": "8"})
        np.testing.assert_allclose(got, probs, rtol=1e-5, atol=0)


STATE_DICT_SCRIPT = '''\
import os
import torch
from torch import nn

torch.manual_seed(0)
X = torch.randn(64, 5)
y = (X[:, 0] > 0).long()


class Classifier(nn.Module):
    def __init__(self, n_features, hidden=8):
        super().__init__()
        self.hidden = nn.Linear(n_features, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


net = Classifier(5, hidden=8)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for step in range(20):
    opt.zero_grad()
    nn.functional.cross_entropy(net(X), y).backward()
    opt.step()
os.makedirs("weights", exist_ok=True)
torch.save(net.state_dict(), "weights/classifier.pt")

restored = Classifier(5, hidden=8)
restored.load_state_dict(torch.load("weights/classifier.pt"))
restored.eval()
X_new = torch.randn(10, 5)
pred = restored(X_new).argmax(dim=1)
'''


def test_state_dict_saved_and_reloaded_by_the_source(tmp_path):
    env = {**os.environ}
    out = convert_and_train(tmp_path, "reload_state", STATE_DICT_SCRIPT, env)
    manifest = json.loads((out / "nbextract.json").read_text())
    assert manifest["artifacts"] == [{"variable": "restored", "path": "artifacts/restored", "format": "state_dict"}]
    recorded = json.loads((out / "artifacts" / "restored" / "arguments.json").read_text())
    assert recorded == {"class": "Classifier", "args": [5], "kwargs": {"hidden": 8}}
    X_new, pred = source_values(out, "reload_state", "X_new", "pred")
    got = predict_in_fresh_process(out, "reload_state", X_new, {**env, "RELOAD_STATE_DEVICE": "cpu"})
    assert got.tolist() == pred.tolist()


HF_SOURCES = {
    "hf_auto_classes": (
        '''\
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

MODEL_DIR = "tiny-sentiment"
tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
model = AutoModelForSequenceClassification.from_pretrained(MODEL_DIR)
model.eval()
texts = ["good movie", "bad plot", "great fun acting", "awful", "bad acting", "good plot"]
inputs = tokenizer(texts, padding=True, return_tensors="pt")
with torch.no_grad():
    logits = model(**inputs).logits
probs = logits.softmax(dim=-1).numpy()
''',
        ("texts", "probs"),
        {"model": "pretrained", "tokenizer": "pretrained"},
    ),
    "hf_pipeline": (
        '''\
from transformers import pipeline

classifier = pipeline("text-classification", model="tiny-sentiment", tokenizer="tiny-sentiment")
reviews = ["good movie", "bad plot", "great fun acting", "awful", "bad acting", "good plot"]
outputs = classifier(reviews)
scores = [output["score"] for output in outputs]
''',
        ("reviews", "scores"),
        {"classifier": "pretrained"},
    ),
}


def save_tiny_model(folder: Path) -> None:
    """A two-label BERT of a few thousand weights, built from a config (no download), saved as a hub model is."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "plot", "great", "fun", "awful", "acting"]
    folder.parent.mkdir(parents=True, exist_ok=True)
    vocab = folder.parent / "vocab.txt"
    vocab.write_text("\n".join(words) + "\n")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=32, num_labels=2, initializer_range=0.5, id2label={0: "NEG", 1: "POS"},
        label2id={"NEG": 0, "POS": 1},
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)


@pytest.mark.parametrize("name", sorted(HF_SOURCES))
def test_hugging_face_package_loads_its_own_local_folder(tmp_path, name):
    source, (input_name, output_name), formats = HF_SOURCES[name]
    save_tiny_model(tmp_path / "research" / "tiny-sentiment")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = convert_and_train(tmp_path, name, source, env)
    manifest = json.loads((out / "nbextract.json").read_text())
    assert (manifest["inputs"][0]["name"], manifest["outputs"][0]["name"]) == (input_name, output_name)
    assert {artifact["variable"]: artifact["format"] for artifact in manifest["artifacts"]} == formats
    for variable in formats:
        assert (out / "artifacts" / variable / "config.json").is_file() or (out / "artifacts" / variable / "tokenizer.json").is_file()
    for module in ("model.py", "preprocess.py", "infer.py", "postprocess.py"):
        assert "tiny-sentiment" not in (out / "src" / name / module).read_text(), module

    value, expected = source_values(out, name, input_name, output_name)
    (tmp_path / "research" / "tiny-sentiment").rename(tmp_path / "research" / "moved-away")
    got = predict_in_fresh_process(out, name, value, {**env, f"{name.upper()}_DEVICE": "auto", f"{name.upper()}_BATCH_SIZE": "4"})
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=0)


def test_execute_saves_a_module_the_source_built_itself_and_the_package_loads_it(tmp_path):
    """With --execute the source's own run makes the model (no recorded constructor arguments): it is saved whole and
    its class, defined in the kernel's __main__, is found in the package's helpers."""
    research = tmp_path / "research"
    research.mkdir()
    (research / "iris_torch.py").write_text(TORCH_SCRIPT)
    out = tmp_path / "iris_torch"
    assert main(["convert", str(research / "iris_torch.py"), "-o", str(out), "--execute"]) == 0
    assert (out / "artifacts" / "model" / "module.pt").is_file() and not (out / "artifacts" / "model" / "arguments.json").exists()
    X_test, probs = source_values(out, "iris_torch", "X_test", "probs")
    got = predict_in_fresh_process(out, "iris_torch", X_test, {**os.environ, "IRIS_TORCH_DEVICE": "cpu"})
    np.testing.assert_allclose(got, probs, rtol=1e-5, atol=0)
