"""nbextract/runtime/checks.py and drift.py, the generated package's input checks and drift check, as ordinary
modules: the errors validation gives (and gives again for an input of a kind it accepted before), conversion of read
input to the spec's form, PSI equal to the term-by-term formula, sampling of large batches, and the drift monitor's
budget."""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nbextract.context.data import PROFILE_FILE
from nbextract.runtime import checks, drift

TRAINING = pd.DataFrame(
    {
        "x": np.random.default_rng(0).normal(size=2000),
        "n": np.random.default_rng(1).integers(0, 50, size=2000),
        "kind": np.random.default_rng(2).choice(["a", "b", "c", "d"], size=2000, p=[0.4, 0.3, 0.2, 0.1]),
    }
)
SHIFTED = TRAINING.assign(x=TRAINING["x"] * 3 + 2, kind=np.where(TRAINING["kind"] == "a", "z", TRAINING["kind"]))
SETTINGS = SimpleNamespace(drift_threshold=0.2, drift_min_rows=50)
STATISTICS = drift.feature_statistics(TRAINING)


def test_the_profile_file_is_the_one_the_templates_name():
    assert checks.PROFILE_FILE == PROFILE_FILE


# --- validation -------------------------------------------------------------------------------------------------------

TEXT_X = pd.DataFrame({"x": ["1"], "kind": ["a"]})
FRAME_SPEC = {
    "type": "pandas.DataFrame",
    "shape": [None, 2],
    "columns": [{"name": "x", "dtype": "float64"}, {"name": "kind", "dtype": "object"}],
}
ARRAY_SPEC = {"type": "numpy.ndarray", "shape": [None, 4], "dtype": "float64"}
CHECKED = [
    (pd.DataFrame({"x": [1.0], "kind": ["a"]}), FRAME_SPEC, None),
    (pd.DataFrame({"x": [1], "kind": ["a"], "extra": [0]}), FRAME_SPEC, None),
    (pd.DataFrame({"kind": ["a"]}), FRAME_SPEC, "predict() input lacks column(s) x; expected a pandas.DataFrame with columns x (float64), kind (object)"),
    (TEXT_X, FRAME_SPEC, f"predict() expects column 'x' of dtype float64; got {TEXT_X['x'].dtype}"),
    (np.zeros((1, 2)), FRAME_SPEC, "predict() expects a pandas.DataFrame with columns x (float64), kind (object); got numpy.ndarray"),
    (np.zeros((3, 4)), {**ARRAY_SPEC, "shape": [None, 5]}, "predict() expects rows of shape (5,); got (4,)"),
    (np.zeros((3, 4), dtype=np.int32), ARRAY_SPEC, None),
    (np.array([["a"] * 4]), ARRAY_SPEC, "predict() expects input of dtype float64; got <U1"),
    (["a", "b"], {"type": "list", "shape": [None], "items": ["str"]}, None),
    (["a", 1, 2.0], {"type": "list", "shape": [None], "items": ["str"]}, "predict() expects a list of str; got items of type float, int"),
    ("anything", {}, None),
    (["a spam mail", "a letter"], {"type": "pandas.Series", "shape": [None], "dtype": "object"}, None),
    ((0.5, 2), {"type": "numpy.ndarray", "shape": [None], "dtype": "float64"}, None),
    ([1, 2], {"type": "pandas.Series", "shape": [None], "dtype": "object"}, "predict() expects a pandas.Series of shape (n) and dtype object; got a list of other items"),
    (["a"], {"type": "numpy.ndarray", "shape": [None], "dtype": "float64"}, "predict() expects a numpy.ndarray of shape (n) and dtype float64; got a list of other items"),
    ([[1.0, 2.0]], ARRAY_SPEC, "predict() expects a numpy.ndarray of shape (n, 4) and dtype float64; got list"),
]


@pytest.mark.parametrize(("data", "spec", "error"), CHECKED, ids=range(len(CHECKED)))
def test_validation_errors(data, spec, error):
    for validate in (lambda value: checks.check(value, spec), checks.InputCheck(spec)):
        if error is None:
            validate(data)
            continue
        with pytest.raises(ValueError) as caught:
            validate(data)
        assert str(caught.value) == error


def test_an_input_of_an_accepted_kind_is_not_compared_column_by_column_again(monkeypatch):
    validate = checks.InputCheck(FRAME_SPEC)
    compared = []
    monkeypatch.setattr(checks, "check_columns", lambda data, spec: compared.append(len(data)))
    for rows in (1, 5, 100):
        validate(pd.DataFrame({"x": np.zeros(rows), "kind": ["a"] * rows}))
    assert compared == [1], "rows of the same columns and dtypes are accepted as before"
    validate(pd.DataFrame({"x": np.zeros(2, dtype=np.float32), "kind": ["a"] * 2}))
    assert compared == [1, 2], "another dtype is compared"


@pytest.mark.parametrize(
    "frame",
    [TRAINING, TEXT_X, pd.DataFrame({"a": [1], "b": [1.0], "c": pd.array([1], dtype="Int64"), "d": [1]})],
    ids=["number and text", "text", "mixed blocks"],
)
def test_the_column_dtypes_are_the_frames_dtypes_in_order(frame):
    assert checks.column_dtypes(frame) == tuple(frame.dtypes)
    assert checks.column_dtypes(SimpleNamespace(dtypes=frame.dtypes)) == tuple(frame.dtypes)


def test_a_refused_input_is_refused_every_time():
    validate = checks.InputCheck(ARRAY_SPEC)
    for _ in range(2):
        with pytest.raises(ValueError, match="rows of shape"):
            validate(np.zeros((2, 3)))


CONFORMED = [
    ([{"x": 1.0, "kind": "a"}], FRAME_SPEC, pd.DataFrame({"x": [1.0], "kind": ["a"]})),
    ([[1.0, "a"]], FRAME_SPEC, pd.DataFrame({"x": [1.0], "kind": ["a"]})),
    ([[1, 2, 3, 4]], ARRAY_SPEC, np.array([[1.0, 2.0, 3.0, 4.0]])),
    (pd.DataFrame({"text": ["a", "b"]}), {"type": "list"}, ["a", "b"]),
    (["a"], {"type": "tuple"}, ("a",)),
    (pd.DataFrame({"v": [1, 2]}), {"type": "pandas.Series"}, pd.Series([1, 2], name="v")),
    ([1, 2], {"type": "pandas.Series"}, pd.Series([1, 2])),
    ([1, 2], {"type": "list"}, [1, 2]),
    ([1, 2], {"type": "some.Model"}, [1, 2]),
]


@pytest.mark.parametrize(("data", "spec", "expected"), CONFORMED, ids=range(len(CONFORMED)))
def test_read_input_takes_the_form_of_the_spec(data, spec, expected):
    conformed = checks.conform(data, spec)
    assert type(conformed) is type(expected)
    if hasattr(expected, "equals"):
        assert conformed.equals(expected)
    else:
        assert np.array_equal(conformed, expected) and str(np.asarray(conformed).dtype) == str(np.asarray(expected).dtype)


DESCRIBED = [
    (np.array([[1.0, 2.0]]), {"type": "numpy.ndarray", "shape": [None, 2], "dtype": "float64", "min": 1.0, "max": 2.0, "example": [1.0, 2.0]}),
    (["ab", "c"], {"type": "list", "shape": [None], "items": ["str"], "example": "ab"}),
    (pd.DataFrame({"x": [1.5]}), {"type": "pandas.DataFrame", "shape": [None, 1], "columns": [{"name": "x", "dtype": "float64", "min": 1.5, "max": 1.5}], "example": {"x": 1.5}}),
    (3, {"type": "int"}),
]


@pytest.mark.parametrize(("data", "spec"), DESCRIBED, ids=["array", "texts", "frame", "scalar"])
def test_describe_gives_the_spec_check_accepts(data, spec):
    assert checks.describe(data) == spec
    checks.check(data, spec)


# --- drift ------------------------------------------------------------------------------------------------------------


def reference_psi(expected, actual) -> float:
    """PSI written out term by term."""
    floor = 1e-4
    return sum((max(a, floor) - max(e, floor)) * math.log(max(a, floor) / max(e, floor)) for e, a in zip(expected, actual))


def reference_scores(data: pd.DataFrame, statistics: dict) -> dict[str, float]:
    scores = {}
    for name in data.columns:
        reference, values = statistics[name], data[name].to_numpy()
        if reference["kind"] == "numeric":
            counts = np.bincount(np.searchsorted(reference["edges"], values, side="right"), minlength=len(reference["edges"]) + 1)
            scores[name] = reference_psi(reference["shares"], list(counts / counts.sum()))
        else:
            expected = list(reference["frequencies"].values())
            actual = [float((values.astype(str) == value).mean()) for value in reference["frequencies"]]
            scores[name] = reference_psi([*expected, 1 - sum(expected)], [*actual, max(0.0, 1 - sum(actual))])
    return scores


@pytest.mark.parametrize("rows", [60, 500, 1000])
@pytest.mark.parametrize("data", [TRAINING, SHIFTED], ids=["same", "shifted"])
def test_drift_scores_are_the_term_by_term_psi(data, rows):
    batch = data.iloc[:rows]
    assert drift.drift_scores(batch, STATISTICS) == pytest.approx(reference_scores(batch, STATISTICS), abs=1e-12)


def test_a_batch_over_drift_rows_is_sampled_and_names_the_same_drifting_features(caplog):
    big = pd.concat([SHIFTED] * 3, ignore_index=True)
    sampled, full = drift.drift_scores(big, STATISTICS), reference_scores(big, STATISTICS)
    assert sampled == pytest.approx(full, rel=0.1, abs=0.05)
    with caplog.at_level(logging.WARNING):
        drifting = drift.warn_on_drift(big, STATISTICS, SETTINGS)
    assert sorted(drifting) == sorted(name for name, score in full.items() if score > 0.2) == ["kind", "x"]
    assert "input drift against the training data: kind (PSI" in caplog.text and ", x (PSI" in caplog.text


def test_no_drift_warning_for_training_like_or_small_batches(caplog):
    with caplog.at_level(logging.WARNING):
        assert drift.warn_on_drift(TRAINING.iloc[1000:], STATISTICS, SETTINGS) == {}
        assert drift.warn_on_drift(SHIFTED.iloc[:49], STATISTICS, SETTINGS) == {}
    assert caplog.text == ""


def test_a_warning_names_the_five_worst_features():
    assert drift.worst_named({f"f{n}": n / 10 for n in range(8)}) == (
        "f7 (PSI 0.70), f6 (PSI 0.60), f5 (PSI 0.50), f4 (PSI 0.40), f3 (PSI 0.30) and 3 more"
    )


FEATURES = [
    (["ab", np.str_("cde"), ""], {"text length": [2, 3, 0]}),
    ([1.0, 2.0], {"value": [1.0, 2.0]}),
    (np.array([[1, 2], [3, 4]]), {"column 0": [1, 3], "column 1": [2, 4]}),
    (pd.DataFrame({"a": [1], "b": ["x"]}), {"a": [1], "b": ["x"]}),
    (7, {}),
]


@pytest.mark.parametrize(("data", "features"), FEATURES, ids=["texts", "values", "array", "frame", "scalar"])
def test_the_features_drift_is_measured_on(data, features):
    assert {name: list(values) for name, values in drift.features(data).items()} == features


def checked_batches(monitor: drift.DriftMonitor, batches: int, rows: int, predicting: float) -> int:
    """How many of `batches` batches of `rows` rows the monitor checks, each predicted in `predicting` seconds."""
    checked = 0
    for _ in range(batches):
        before = monitor.checks
        monitor.observe(SHIFTED.iloc[:rows])
        monitor.predicted(predicting)
        checked += monitor.checks - before
    return checked


class Clock:
    """perf_counter for the drift module: a check takes `check` seconds, nothing else takes any."""

    def __init__(self, check: float) -> None:
        self.now, self.check = 0.0, check

    def perf_counter(self) -> float:
        return self.now

    def checked(self, *args) -> dict:
        self.now += self.check
        return {}


def test_the_first_batches_are_checked_then_the_checks_keep_to_their_budget(monkeypatch):
    clock = Clock(check=1e-3)
    monkeypatch.setattr(drift, "time", clock)
    monkeypatch.setattr(drift, "warn_on_drift", clock.checked)
    monitor = drift.DriftMonitor(STATISTICS, SETTINGS)
    assert checked_batches(monitor, drift.FIRST_CHECKS, 100, 1e-6) == drift.FIRST_CHECKS
    # 200 batches predicted in 1 ms each: a 1 ms check keeps within 2% of the time predicting when it comes after
    # 0, 50, 100 and 150 ms of it
    assert checked_batches(monitor, 200, 100, 1e-3) == 4
    assert monitor.checking == pytest.approx(4e-3)


def test_batches_are_all_checked_while_the_check_costs_little_beside_the_model():
    monitor = drift.DriftMonitor(STATISTICS, SETTINGS)
    assert checked_batches(monitor, 60, 100, 10.0) == 60


@pytest.mark.parametrize(
    ("statistics", "settings", "rows"),
    [(STATISTICS, SETTINGS, 49), ({}, SETTINGS, 100), (STATISTICS, SimpleNamespace(drift_threshold=0, drift_min_rows=50), 100)],
    ids=["small batch", "no statistics", "threshold 0"],
)
def test_batches_that_are_never_checked(statistics, settings, rows):
    monitor = drift.DriftMonitor(statistics, settings)
    assert checked_batches(monitor, 3, rows, 1.0) == 0


def test_the_monitor_returns_the_drifting_features_of_a_checked_batch(caplog):
    monitor = drift.DriftMonitor(STATISTICS, SETTINGS)
    with caplog.at_level(logging.WARNING):
        assert monitor.observe(TRAINING.iloc[:500]) == {}
        assert sorted(monitor.observe(SHIFTED.iloc[:500])) == ["kind", "x"]
    assert caplog.text.count("input drift") == 1
