"""The generated package's batching rule: a model that takes the whole input is called once, a torch model is batched
at the inference batch size, and a training DataLoader's size never becomes that size (the runtime modules themselves:
tests/test_runtime_batching.py, tests/test_runtime_checks.py). Speed itself is measured by
benchmarks/predictor_speed.py, never asserted here."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nbextract.analyze import analyse
from nbextract.convert import convert
from nbextract.options import Options
from nbextract.slice import plan


def write_source(folder: Path, source: str) -> Path:
    path = folder / "x.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


IRIS = """\
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
{size}
X, y = load_iris(return_X_y=True)
clf = LogisticRegression(max_iter=500).fit(X, y)
y_pred = clf.predict(X)
"""

TORCH = """\
import torch
import torch.nn as nn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

BATCH_SIZE = 16
X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
train_set = TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train))
for xb, yb in DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True):
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(xb), yb).backward()
    optimizer.step()
with torch.no_grad():
    logits = model(torch.tensor(X_test, dtype=torch.float32))
y_pred = logits.argmax(1)
"""


# --- where the inference batch size comes from ---------------------------------------------------------------------


@pytest.mark.parametrize("line", ["BATCH_SIZE = 64", "bs = 64", "batch_size = 64"])
def test_a_training_batch_size_is_not_the_inference_batch_size(tmp_path, line):
    path = write_source(tmp_path, IRIS.format(size=line))
    assert plan(analyse(path), Options(source=path)).batch_size is None


@pytest.mark.parametrize("name", ["PREDICT_BATCH_SIZE", "inference_batch_size", "EVAL_BATCH_SIZE"])
def test_a_name_that_means_inference_sets_the_inference_batch_size(tmp_path, name):
    path = write_source(tmp_path, IRIS.format(size=f"BATCH_SIZE = 64\n{name} = 512"))
    size = plan(analyse(path), Options(source=path)).batch_size
    assert (size.variable, size.value) == (name, 512)


def package(tmp_path: Path, source: str, name: str) -> SimpleNamespace:
    """Convert `source` into tmp_path/name; its settings and its batching module."""
    out = tmp_path / name
    convert(Options(source=write_source(tmp_path, source), output=out, name=name))
    sys.path.insert(0, str(out / "src"))
    try:
        modules = {module: importlib.import_module(f"{name}.{module}") for module in ("config", "batching")}
    finally:
        sys.path.remove(str(out / "src"))
    settings = modules.pop("config").load_settings(out / "config.toml")
    return SimpleNamespace(settings=settings, **modules)


@pytest.fixture(scope="module")
def sklearn_package(tmp_path_factory):
    return package(tmp_path_factory.mktemp("sklearn"), IRIS.format(size="BATCH_SIZE = 64"), "iris_whole")


@pytest.fixture(scope="module")
def torch_package(tmp_path_factory):
    pytest.importorskip("torch")
    return package(tmp_path_factory.mktemp("torch"), TORCH, "iris_batched")


def calls_of(batching, data, batch_size: int) -> list[int]:
    """Rows of each call run_in_batches makes."""
    sizes = []

    def model(rows):
        sizes.append(len(rows))
        return rows

    batching.run_in_batches(model, data, batch_size)
    return sizes


def test_a_scikit_learn_model_is_called_once_for_1000_rows(sklearn_package):
    assert sklearn_package.settings.batch_size == 0
    rows = pd.DataFrame(np.zeros((1000, 4)), columns=list("abcd"))
    assert calls_of(sklearn_package.batching, rows, sklearn_package.settings.batch_size) == [1000]


def test_an_input_over_the_memory_bound_is_split_even_for_a_whole_input_model(sklearn_package, monkeypatch):
    monkeypatch.setattr(sklearn_package.batching, "MAX_CALL_BYTES", 8 * 4 * 300)
    rows = np.zeros((1000, 4))
    assert calls_of(sklearn_package.batching, rows, 0) == [300, 300, 300, 100]


def test_a_torch_model_is_batched_at_the_inference_size_not_the_training_loaders(torch_package):
    assert torch_package.settings.batch_size == 1024, "not BATCH_SIZE = 16 of the training DataLoader"
    import torch

    assert calls_of(torch_package.batching, torch.zeros(3000, 4), 1024) == [1024, 1024, 952]


def test_the_joined_batches_are_the_whole_result(torch_package):
    import torch

    data = torch.arange(1000.0).reshape(500, 2)
    assert torch.equal(torch_package.batching.run_in_batches(lambda rows: rows * 2, data, 64), data * 2)


@pytest.mark.parametrize(
    ("fixture", "dropped", "kept"),
    [("sklearn_package", ("torch", "scipy"), ("numpy",)), ("torch_package", ("scipy",), ("torch", "numpy"))],
    ids=["sklearn", "torch"],
)
def test_a_package_joins_only_the_results_of_its_own_libraries(request, fixture, dropped, kept):
    batching = request.getfixturevalue(fixture).batching
    assert not set(dropped) & set(batching.JOINS)
    assert set(kept) <= set(batching.JOINS)
