"""Drift from the training data: per-feature statistics of the training inputs, and the
population stability index (PSI) of a batch against them.

A Predictor's DriftMonitor checks batches of at least drift_min_rows rows (on at most
DRIFT_ROWS of their rows): its first FIRST_CHECKS batches, then as many as keep the time
spent checking within DRIFT_BUDGET of the time spent predicting, so that the check costs
the predictions a bounded share however cheap the model is.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from functools import lru_cache
from typing import Any, Protocol

logger = logging.getLogger(__name__)

BINS = 10
TOP_VALUES = 20
EPSILON = 1e-4
SHOWN_FEATURES = 5
DRIFT_ROWS = 1000  # drift is measured on at most this many rows of a batch
FIRST_CHECKS = 20  # batches checked whatever they cost
DRIFT_BUDGET = 0.02  # later, the checks' share of the time spent predicting


class DriftSettings(Protocol):
    drift_threshold: float
    drift_min_rows: int


def features(data: Any) -> dict:
    """Feature name -> values, for the kinds of input drift is measured on: tables,
    arrays, texts (by length)."""
    import numpy

    if hasattr(data, "columns"):
        return {str(name): data[name].to_numpy() for name in data.columns}
    if hasattr(data, "shape") and len(data.shape) == 2:
        return {f"column {index}": data[:, index] for index in range(data.shape[1])}
    if not isinstance(data, (list, tuple)) and not (
        hasattr(data, "shape") and len(data.shape) == 1
    ):
        return {}
    values = list(data)
    if values and all(issubclass(kind, str) for kind in set(map(type, values))):
        return {"text length": numpy.fromiter(map(len, values), int, len(values))}
    return {"value": numpy.asarray(values)}


def feature_statistics(data: Any) -> dict:
    """Per feature: numeric ones get decile edges, bin shares, mean and std; the others
    their frequent values."""
    import numpy

    statistics = {}
    for name, values in features(data).items():
        array = numpy.asarray(values)
        if array.dtype.kind in "iuf" and array.size:
            statistics[name] = numeric_statistics(array)
        elif array.size:
            statistics[name] = categorical_statistics(array)
    return statistics


def numeric_statistics(array: Any) -> dict:
    import numpy

    finite = array[numpy.isfinite(array)].astype(float)
    edges = []
    if finite.size:
        deciles = numpy.quantile(finite, numpy.linspace(0, 1, BINS + 1)[1:-1])
        edges = [float(edge) for edge in numpy.unique(deciles)]
    return {
        "kind": "numeric",
        "edges": edges,
        "shares": shares(numeric_counts(finite, edges)),
        "mean": float(finite.mean()) if finite.size else None,
        "std": float(finite.std()) if finite.size else None,
    }


def categorical_statistics(array: Any) -> dict:
    import numpy

    values, counts = numpy.unique(array.astype(str), return_counts=True)
    top = sorted(zip(counts.tolist(), values.tolist()), reverse=True)[:TOP_VALUES]
    return {
        "kind": "categorical",
        "frequencies": {value: count / array.size for count, value in top},
    }


def numeric_counts(values: Any, edges: list[float]) -> Any:
    import numpy

    bins = numpy.searchsorted(edges, values, side="right")
    return numpy.bincount(bins, minlength=len(edges) + 1)


def shares(counts: Any) -> list[float]:
    total = max(int(sum(counts)), 1)
    return [int(count) / total for count in counts]


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two lists of shares (0: same; above 0.2: a real
    shift)."""
    import numpy

    e = numpy.maximum(expected, EPSILON)
    a = numpy.maximum(actual, EPSILON)
    return float(((a - e) * numpy.log(a / e)).sum())


def drift_scores(data: Any, statistics: dict) -> dict[str, float]:
    """PSI per feature of a batch against the training statistics, on DRIFT_ROWS rows of
    a larger batch."""
    import numpy

    scores = {}
    for name, values in features(sampled(data)).items():
        reference = statistics.get(name)
        if reference is None:
            continue
        array = numpy.asarray(values)
        if reference["kind"] != "numeric":
            scores[name] = categorical_psi(array, reference["frequencies"])
        elif array.dtype.kind in "iuf":
            actual = numeric_counts(array[numpy.isfinite(array)], reference["edges"])
            scores[name] = psi(reference["shares"], shares(actual))
    return scores


def sampled(data: Any) -> Any:
    """The batch, or DRIFT_ROWS of its rows when it has more."""
    count = rows(data)
    if count <= DRIFT_ROWS:
        return data
    chosen = sample_rows(count)
    if hasattr(data, "iloc"):
        return data.iloc[chosen]
    if isinstance(data, (list, tuple)):
        return [data[index] for index in chosen]
    return data[chosen]


@lru_cache(maxsize=16)
def sample_rows(count: int) -> Any:
    """DRIFT_ROWS of `count` rows drawn at random: the same for every batch of that size
    (drawn once)."""
    import numpy

    drawn = numpy.random.default_rng(count).choice(count, DRIFT_ROWS, replace=False)
    return numpy.sort(drawn)


def categorical_psi(array: Any, frequencies: dict[str, float]) -> float:
    """PSI of the values' shares (as text) against the training frequencies, the rest
    counted together."""
    counted: Counter[str] = Counter()
    texts = array if array.dtype == object else array.astype(str)
    for value, count in Counter(texts.tolist()).items():
        counted[str(value)] += count
    total = max(len(array), 1)
    expected = list(frequencies.values())
    actual = [counted[value] / total for value in frequencies]
    return psi(
        [*expected, max(0.0, 1 - sum(expected))],
        [*actual, max(0.0, 1 - sum(actual))],
    )


def warn_on_drift(
    data: Any, statistics: dict, settings: DriftSettings
) -> dict[str, float]:
    """Log one warning naming the features whose PSI exceeds drift_threshold (batches of
    drift_min_rows or more); the features and their PSI."""
    if (
        not statistics
        or settings.drift_threshold <= 0
        or rows(data) < settings.drift_min_rows
    ):
        return {}
    drifting = {
        name: score
        for name, score in drift_scores(data, statistics).items()
        if score > settings.drift_threshold
    }
    if drifting:
        logger.warning(
            "input drift against the training data: %s > drift_threshold %s",
            worst_named(drifting),
            settings.drift_threshold,
        )
    return drifting


def worst_named(drifting: dict[str, float]) -> str:
    """`a (PSI 0.91), b (PSI 0.40) and 3 more`: the SHOWN_FEATURES worst features."""
    worst = sorted(drifting.items(), key=lambda item: -item[1])
    named = ", ".join(
        f"{name} (PSI {score:.2f})" for name, score in worst[:SHOWN_FEATURES]
    )
    if len(worst) > SHOWN_FEATURES:
        named += f" and {len(worst) - SHOWN_FEATURES} more"
    return named


def rows(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 0


class DriftMonitor:
    """warn_on_drift() for a Predictor's batches, within its time budget: the first
    FIRST_CHECKS batches it would check, then those that keep the seconds spent on the
    later checks within DRIFT_BUDGET of the seconds spent predicting."""

    def __init__(self, statistics: dict, settings: DriftSettings) -> None:
        self.statistics = statistics
        self.settings = settings
        self.checks = 0
        self.checking = 0.0
        self.predicting = 0.0

    def observe(self, data: Any) -> dict[str, float]:
        """The drifting features of a batch (nothing when the batch is not checked)."""
        if not self.due(data):
            return {}
        started = time.perf_counter()
        drifting = warn_on_drift(data, self.statistics, self.settings)
        if self.checks >= FIRST_CHECKS:
            self.checking += time.perf_counter() - started
        self.checks += 1
        return drifting

    def predicted(self, seconds: float) -> None:
        """Count the seconds a prediction took into the budget."""
        self.predicting += seconds

    def due(self, data: Any) -> bool:
        """Whether a batch is checked: drift is on, the batch has drift_min_rows rows or
        more, and the budget allows it."""
        if not self.statistics or self.settings.drift_threshold <= 0:
            return False
        if rows(data) < self.settings.drift_min_rows:
            return False
        within = self.checking <= DRIFT_BUDGET * self.predicting
        return self.checks < FIRST_CHECKS or within
