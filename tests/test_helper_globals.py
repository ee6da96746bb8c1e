"""Helper functions that read fitted state as a global (research code does this all the time) still work: training
sets it after building it, and loading the package sets it from artifacts/."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from nbextract.cli import main

SOURCE = '''\
from sklearn.linear_model import LogisticRegression

train_texts = ["good movie", "bad movie", "good plot", "bad acting", "great fun", "awful plot"]
train_labels = [1, 0, 1, 0, 1, 0]
test_texts = ["good fun", "bad plot", "great movie"]

vocab = {}
for text in train_texts:
    for word in text.split():
        vocab.setdefault(word, len(vocab))


def encode(text):
    row = [0] * len(vocab)
    for word in text.split():
        if word in vocab:
            row[vocab[word]] += 1
    return row


X_train = [encode(text) for text in train_texts]
clf = LogisticRegression().fit(X_train, train_labels)
X_test = [encode(text) for text in test_texts]
y_pred = clf.predict(X_test)
'''


def test_helper_reading_fitted_state_works_after_training(tmp_path):
    source = tmp_path / "bag_of_words.py"
    source.write_text(SOURCE)
    out = tmp_path / "pkg"
    assert main(["convert", str(source), "-o", str(out)]) == 0
    manifest = json.loads((out / "nbextract.json").read_text())
    assert (manifest["inputs"][0]["name"], manifest["outputs"][0]["name"]) == ("test_texts", "y_pred")
    subprocess.run([sys.executable, "training/train.py"], cwd=out, check=True, capture_output=True)
    namespace: dict = {}
    exec(compile(SOURCE, str(source), "exec"), namespace)
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    check = "import bag_of_words; print(list(bag_of_words.predict(['good fun', 'bad plot', 'great movie'])))"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, "-c", check], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(list(namespace["y_pred"]))


SECRET_SOURCE = '''\
import numpy as np
from sklearn.linear_model import LogisticRegression

API_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"


def features(X, remote=False):
    if remote:
        raise ConnectionError("would fetch with " + API_KEY)
    return X * 2


X = np.arange(40.0).reshape(20, 2)
y = np.array([0, 1] * 10)
clf = LogisticRegression().fit(features(X), y)
X_new = X[:5] + 0.5
y_pred = clf.predict(features(X_new))
'''


def test_a_secret_a_helper_reads_is_read_when_needed_not_at_import(tmp_path):
    """Issue 16: `API_KEY = secret("API_KEY")` at the top of helpers.py made `import NAME` fail without the variable."""
    source = tmp_path / "keyed.py"
    source.write_text(SECRET_SOURCE)
    out = tmp_path / "pkg"
    assert main(["convert", str(source), "-o", str(out), "--input", "X_new"]) == 0
    env = {name: value for name, value in os.environ.items() if name != "API_KEY"}
    subprocess.run([sys.executable, "training/train.py"], cwd=out, check=True, capture_output=True, env=env)
    check = (
        "import numpy as np, keyed\nfrom keyed import helpers\n"
        "print(keyed.predict(np.arange(10.0).reshape(5, 2) + 0.5).tolist())\n"
        "try:\n    helpers.features(None, remote=True)\nexcept RuntimeError as error:\n    print(error)\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, "-c", check], cwd=elsewhere, env={**env, "PYTHONPATH": str(out / "src")}, capture_output=True, text=True)
    namespace: dict = {}
    exec(compile(SECRET_SOURCE, str(source), "exec"), namespace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(namespace["y_pred"].tolist()), "environment variable API_KEY is not set; see .env.example"]
