"""Calling the model on an input in one call, or in batches, and joining the batches'
results.

A model that takes the whole input at once (scikit-learn, xgboost, lightgbm) is called
once (batch_size 0) unless the input holds more than MAX_CALL_BYTES; a torch or
transformers model is called on batch_size rows at a time. Each way of joining results is
registered for the library of the results' type, and a package holds only the ways of the
libraries it depends on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

# an input holding more than this is split, whatever batch_size says
MAX_CALL_BYTES = 256 * 2**20

Join = Callable[[list], Any]
J = TypeVar("J", bound=Join)
JOINS: dict[str, Join] = {}


def run_in_batches(function: Callable[[Any], Any], data: Any, batch_size: int) -> Any:
    """`function(data)` in one call, or on slices of at most `batch_size` rows (0: no
    limit) and MAX_CALL_BYTES, the results joined."""
    count = row_count(data)
    size = rows_per_call(data, count, batch_size) if count else None
    if size is None or count is None or count <= size:
        return function(data)
    rows = data.iloc if hasattr(data, "iloc") else data
    return join(
        [function(rows[start : start + size]) for start in range(0, count, size)]
    )


def rows_per_call(data: Any, count: int, batch_size: int) -> int:
    """batch_size rows (all of them when 0), fewer when that many would hold more than
    MAX_CALL_BYTES."""
    limit = batch_size or count
    held = size_in_bytes(data)
    return max(1, min(limit, count * MAX_CALL_BYTES // held)) if held else limit


def row_count(data: Any) -> int | None:
    """Rows of an array, tensor, sparse matrix, frame or list; None when the input cannot
    be sliced into rows."""
    shape = getattr(data, "shape", None)
    if shape:
        return int(shape[0])
    return len(data) if isinstance(data, (list, tuple)) else None


def size_in_bytes(data: Any) -> int:
    """Bytes an array, tensor, series, sparse matrix or frame holds (a frame's cell counted
    as 8: a number or a reference to a text), without reading its values; 0 for a list.
    Attributes are looked up on the type: a frame's own lookup of a missing one costs
    tens of microseconds."""
    kind = type(data)
    if hasattr(kind, "nnz"):
        return int(data.data.nbytes)
    if hasattr(kind, "columns"):
        return 8 * data.shape[0] * data.shape[1]
    if hasattr(kind, "nbytes"):
        return int(data.nbytes)
    return 0


def joins(library: str) -> Callable[[J], J]:
    """Register a way of joining results whose type comes from `library`."""

    def register(function: J) -> J:
        JOINS[library] = function
        return function

    return register


def join(parts: list) -> Any:
    """The results of several calls as one result: a list's items in order, anything else
    joined by the way registered for the library of its type (numpy's for an unknown one:
    an array-like)."""
    first = parts[0]
    if isinstance(first, list):
        return [item for part in parts for item in part]
    library = type(first).__module__.partition(".")[0]
    joined = JOINS.get(library, JOINS.get("numpy"))
    if joined is None:
        raise TypeError(
            f"cannot join results of type {type(first).__name__} from several calls; "
            "set batch_size to 0 to call the model once"
        )
    return joined(parts)


@joins("numpy")
def join_arrays(parts: list) -> Any:
    import numpy

    return numpy.concatenate(parts)


@joins("pandas")
def join_frames(parts: list) -> Any:
    import pandas

    return pandas.concat(parts)


@joins("scipy")
def join_sparse(parts: list) -> Any:
    import scipy.sparse

    return scipy.sparse.vstack(parts)


@joins("torch")
def join_tensors(parts: list) -> Any:
    import torch

    return torch.cat(parts)
