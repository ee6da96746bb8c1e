"""nbextract/runtime/batching.py, the generated package's batching, as an ordinary module: how many rows each call
of the model gets, how the results are joined, and the copy a package gets holding only the joins of its own
libraries (render.without_other_libraries)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse

from nbextract import render
from nbextract.format import format_python
from nbextract.runtime import batching

OWN_MODULES = ("batching.py", "checks.py", "drift.py")


def call_sizes(data, batch_size: int) -> list[int]:
    sizes = []

    def model(rows):
        sizes.append(len(rows) if not hasattr(rows, "shape") else rows.shape[0])
        return rows

    batching.run_in_batches(model, data, batch_size)
    return sizes


CALLS = [
    (np.zeros((1000, 4)), 0, None, [1000]),
    (np.zeros((1000, 4)), 256, None, [256, 256, 256, 232]),
    (np.zeros((1000, 4)), 0, 8 * 4 * 300, [300, 300, 300, 100]),
    (np.zeros((1000, 4)), 256, 8 * 4 * 100, [100] * 10),
    (pd.DataFrame(np.zeros((10, 2))), 4, None, [4, 4, 2]),
    (pd.DataFrame(np.zeros((10, 2))), 0, 8 * 2 * 5, [5, 5]),
    (list(range(7)), 3, None, [3, 3, 1]),
    (list(range(7)), 0, 1, [7]),  # a list's size is not known: only batch_size splits it
    (scipy.sparse.eye(10, format="csr"), 5, None, [5, 5]),
]


@pytest.mark.parametrize(("data", "batch_size", "max_bytes", "sizes"), CALLS, ids=range(len(CALLS)))
def test_rows_per_call(monkeypatch, data, batch_size, max_bytes, sizes):
    if max_bytes:
        monkeypatch.setattr(batching, "MAX_CALL_BYTES", max_bytes)
    assert call_sizes(data, batch_size) == sizes


def test_input_without_rows_is_given_whole():
    assert batching.run_in_batches(lambda value: value * 2, 21, 4) == 42
    assert batching.row_count("text") is None and batching.row_count(np.float64(1.0)) is None


JOINED = [
    ([[1, 2], [3]], [1, 2, 3]),
    ([np.arange(2), np.arange(2, 5)], np.arange(5)),
    ([pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [2]}, index=[1])], pd.DataFrame({"a": [1, 2]})),
    ([pd.Series([1.0]), pd.Series([2.0], index=[1])], pd.Series([1.0, 2.0])),
]


@pytest.mark.parametrize(("parts", "expected"), JOINED, ids=["list", "numpy", "frame", "series"])
def test_results_are_joined_as_one(parts, expected):
    joined = batching.join(parts)
    assert type(joined) is type(expected)
    if hasattr(expected, "equals"):
        assert joined.equals(expected)
    else:
        assert np.array_equal(joined, expected)


def test_sparse_and_tensor_results_are_joined_by_their_library():
    sparse = batching.join([scipy.sparse.eye(2, format="csr"), scipy.sparse.eye(2, format="csr")])
    assert sparse.shape == (4, 2) and sparse.nnz == 4
    torch = pytest.importorskip("torch")
    assert torch.equal(batching.join([torch.zeros(2, 3), torch.ones(1, 3)]), torch.cat([torch.zeros(2, 3), torch.ones(1, 3)]))


def test_a_batched_call_answers_what_one_call_answers():
    data = pd.DataFrame({"x": np.arange(1000.0)})
    whole = batching.run_in_batches(lambda rows: rows["x"].to_numpy() * 2, data, 0)
    assert np.array_equal(batching.run_in_batches(lambda rows: rows["x"].to_numpy() * 2, data, 64), whole)


def test_results_of_no_registered_library_are_a_clear_error(monkeypatch):
    monkeypatch.setattr(batching, "JOINS", {})
    with pytest.raises(TypeError, match="cannot join results of type ndarray from several calls; set batch_size to 0"):
        batching.join([np.arange(2), np.arange(2)])


def copied(module: str, libraries: set[str]) -> dict:
    """The namespace of the module as a package with `libraries` gets it (run without the package around it)."""
    text = render.without_other_libraries(render.runtime_source(module), frozenset(libraries))
    namespace = {"__name__": f"copy_of_{module[:-3]}"}
    exec(compile(text, module, "exec"), namespace)
    return namespace


TRIMMED = [
    (set(), []),
    ({"numpy"}, ["numpy"]),
    ({"numpy", "pandas"}, ["numpy", "pandas"]),
    ({"numpy", "scipy"}, ["numpy", "scipy"]),
    ({"torch", "numpy"}, ["numpy", "torch"]),
    ({"numpy", "pandas", "scipy", "torch", "joblib"}, ["numpy", "pandas", "scipy", "torch"]),
]


@pytest.mark.parametrize(("libraries", "joins"), TRIMMED, ids=[",".join(sorted(libs)) or "none" for libs, _ in TRIMMED])
def test_a_package_gets_the_joins_of_its_libraries_only(libraries, joins):
    namespace = copied("batching.py", libraries)
    assert sorted(namespace["JOINS"]) == joins
    assert namespace["join"]([[1], [2]]) == [1, 2]


def test_a_package_without_pandas_gets_no_conversion_to_pandas():
    text = render.without_other_libraries(render.runtime_source("checks.py"), frozenset({"numpy"}))
    assert "def conform_array" in text and "def conform_sequence" in text
    assert "import pandas" not in text and "def conform_table" not in text


@pytest.mark.parametrize("libraries", [set(), {"numpy"}, {"numpy", "pandas", "scipy", "torch"}], ids=["none", "numpy", "all"])
@pytest.mark.parametrize("module", OWN_MODULES)
def test_every_copy_is_already_formatted(module, libraries):
    text = render.without_other_libraries(render.runtime_source(module), frozenset(libraries))
    assert format_python(text, ("pkg",)) == text


LIBRARIES = [
    (["joblib==1.6.0", "scikit-learn==1.9.1"], {"joblib", "scikit-learn", "numpy"}),
    (["torch==2.13.0", "numpy==2.4.6"], {"torch", "numpy"}),
    (["pandas[performance]>=2.0", "scipy ; python_version > '3'"], {"pandas", "scipy"}),
    ([], set()),
]


@pytest.mark.parametrize(("dependencies", "libraries"), LIBRARIES, ids=["sklearn", "torch", "extras and markers", "none"])
def test_package_libraries_are_its_dependencies_and_what_their_models_return(dependencies, libraries):
    assert render.package_libraries({"dependencies": dependencies}) == libraries
