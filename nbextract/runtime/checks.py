"""Input checks: what predict() accepts (the input spec), validation against it, and input
read from a file put in the form the spec expects.

The profile lives in artifacts/input_profile.json: "spec" describes the input (type,
shape, columns and dtypes, value ranges, an example), "statistics" the training inputs per
feature (drift.py). training/train.py writes it (and so does `nbextract convert
--execute`, from the source's own run).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .drift import feature_statistics

logger = logging.getLogger(__name__)

PROFILE_FILE = "input_profile.json"
# kinds of input (type, columns and dtypes, or row shape and dtype) remembered as accepted
ACCEPTED_KINDS = 64

Conform = Callable[[Any, dict], Any]
C = TypeVar("C", bound=Conform)
CONFORMS: dict[str, Conform] = {}


class HasArtifacts(Protocol):
    artifacts_dir: str


def profile_path(settings: HasArtifacts) -> Path:
    return Path(settings.artifacts_dir) / PROFILE_FILE


def load_profile(settings: HasArtifacts) -> dict:
    """The saved profile, or an empty one (no validation, no drift check) when none was
    recorded."""
    path = profile_path(settings)
    if not path.exists():
        logger.info(
            "no %s in %s: input validation and drift check are off",
            PROFILE_FILE,
            settings.artifacts_dir,
        )
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def save_profile(settings: HasArtifacts, data: Any) -> Path:
    """Describe training input `data` (spec and per-feature statistics) into artifacts/;
    used by training."""
    return write_profile(
        settings, {"spec": describe(data), "statistics": feature_statistics(data)}
    )


def write_profile(settings: HasArtifacts, profile: dict) -> Path:
    path = profile_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(profile, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def type_name(value: Any) -> str:
    return class_name(type(value))


def class_name(kind: type) -> str:
    module = kind.__module__.split(".")[0]
    return kind.__name__ if module == "builtins" else f"{module}.{kind.__name__}"


def plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy scalars and timestamps become Python values or
    text)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def value_range(values: Any) -> dict:
    """min and max of numeric values, nothing for the rest."""
    try:
        import numpy

        array = numpy.asarray(values)
        if array.size and array.dtype.kind in "iuf":
            return {
                "min": plain(numpy.nanmin(array)),
                "max": plain(numpy.nanmax(array)),
            }
    except (ImportError, TypeError, ValueError):
        pass
    return {}


def describe(data: Any) -> dict:
    """The input spec of a value: type, shape, columns and dtypes, value ranges and an
    example."""
    if hasattr(data, "columns") and hasattr(data, "dtypes"):
        return describe_table(data)
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return describe_array(data)
    if isinstance(data, (list, tuple)):
        items = sorted({type_name(item) for item in data})
        return {
            "type": type_name(data),
            "shape": [None],
            "items": items,
            **value_range(data if items != ["str"] else []),
            "example": plain(data[0]) if data else None,
        }
    return {"type": type_name(data)}


def describe_table(data: Any) -> dict:
    columns = [
        {"name": str(name), "dtype": str(dtype), **value_range(data[name])}
        for name, dtype in zip(data.columns, data.dtypes)
    ]
    example = {str(k): plain(v) for k, v in data.iloc[0].items()} if len(data) else {}
    return {
        "type": type_name(data),
        "shape": [None, len(columns)],
        "columns": columns,
        "example": example,
    }


def describe_array(data: Any) -> dict:
    first: Any = None
    if data.shape and data.shape[0]:
        first = data.iloc[0] if hasattr(data, "iloc") else data[0]
    if hasattr(first, "tolist") and getattr(first, "ndim", None):
        example = first.tolist()
    else:
        example = plain(first)
    return {
        "type": type_name(data),
        "shape": [None, *data.shape[1:]],
        "dtype": str(data.dtype),
        **value_range(data),
        "example": example,
    }


class InputCheck:
    """check() against one spec, remembering the kinds of input it accepted: a table with
    the same columns and dtypes, or an array with the same row shape and dtype, is accepted
    again without comparing each column."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.accepted: set[tuple] = set()

    def __call__(self, data: Any) -> None:
        if not self.spec:
            return
        kind = input_kind(data)
        if kind in self.accepted:
            return
        check(data, self.spec)
        if kind is not None and len(self.accepted) < ACCEPTED_KINDS:
            self.accepted.add(kind)


def input_kind(data: Any) -> tuple | None:
    """What check() reads of a table or an array (None for other input, checked item by
    item). Attributes are looked up on the type: `hasattr` of a frame's `dtypes` builds
    them."""
    kind = type(data)
    if hasattr(kind, "columns") and hasattr(kind, "dtypes"):
        return (kind, tuple(data.columns.tolist()), column_dtypes(data))
    if hasattr(kind, "shape") and hasattr(kind, "dtype"):
        return (kind, tuple(data.shape[1:]), data.dtype)
    return None


def column_dtypes(data: Any) -> tuple:
    """The dtype of each column of a table, in order. A pandas frame's `dtypes` builds a
    Series (tens of microseconds, the most a call of a fast model pays here), so the list
    is read from the frame's block manager where it has one; else from `dtypes`."""
    listed = getattr(getattr(data, "_mgr", None), "get_dtypes", None)
    return tuple(listed() if callable(listed) else data.dtypes.tolist())


def check(data: Any, spec: dict) -> None:
    """Raise one clear ValueError when `data` cannot be what the source predicted on."""
    if not spec:
        return
    got = type_name(data)
    if got in PLAIN_SEQUENCES and is_one_dimensional(spec):
        check_items(data, spec)
        return
    if got != spec["type"]:
        raise ValueError(f"predict() expects {spec_summary(spec)}; got {got}")
    if "columns" in spec:
        check_columns(data, spec)
    elif "dtype" in spec:
        if list(data.shape[1:]) != spec["shape"][1:]:
            raise ValueError(
                f"predict() expects rows of shape {tuple(spec['shape'][1:])}; "
                f"got {tuple(data.shape[1:])}"
            )
        check_dtype(str(data.dtype), spec["dtype"], "input")
    elif "items" in spec:
        odd = sorted(
            {class_name(kind) for kind in set(map(type, data))} - set(spec["items"])
        )
        if odd:
            raise ValueError(
                f"predict() expects {spec_summary(spec)}; "
                f"got items of type {', '.join(odd)}"
            )


PLAIN_SEQUENCES = ("list", "tuple")


def is_one_dimensional(spec: dict) -> bool:
    """A spec of a Series or a 1-d array (of texts, of numbers), which a list of the
    same items stands for: the source may predict on `["a text", ...]` where training
    profiled a column."""
    return "dtype" in spec and len(spec.get("shape", ())) == 1


def check_items(data: Any, spec: dict) -> None:
    """A list or tuple whose items are of the spec's kind: numbers where numbers were,
    text where text was."""
    expected = dtype_family(spec["dtype"])
    numbers = all(isinstance(item, (int, float)) for item in data)
    texts = all(isinstance(item, str) for item in data)
    if (expected == "number" and not numbers) or (
        expected != "number" and numbers and not texts
    ):
        raise ValueError(
            f"predict() expects {spec_summary(spec)}; got a {type_name(data)} of other items"
        )


def check_columns(data: Any, spec: dict) -> None:
    """The spec's columns are there, each with numbers where numbers were and text where
    text was."""
    dtypes = dict(zip(map(str, data.columns), map(str, data.dtypes)))
    missing = [c["name"] for c in spec["columns"] if c["name"] not in dtypes]
    if missing:
        raise ValueError(
            f"predict() input lacks column(s) {', '.join(missing)}; "
            f"expected {spec_summary(spec)}"
        )
    for column in spec["columns"]:
        check_dtype(
            dtypes[column["name"]], column["dtype"], f"column {column['name']!r}"
        )


def check_dtype(got: str, expected: str, what: str) -> None:
    """Numbers where numbers were, text where text was; the width of a number may
    differ."""
    if dtype_family(got) != dtype_family(expected):
        raise ValueError(f"predict() expects {what} of dtype {expected}; got {got}")


def dtype_family(dtype: str) -> str:
    if (
        dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float"))
        or dtype == "bool"
    ):
        return "number"
    if dtype.startswith(("datetime", "timedelta")):
        return dtype.split("[")[0].rstrip("64")
    return "other"


def spec_summary(spec: dict) -> str:
    """`pandas.DataFrame with columns a (float64), b (object)` and the like."""
    if "columns" in spec:
        columns = ", ".join(f"{c['name']} ({c['dtype']})" for c in spec["columns"])
        return f"a {spec['type']} with columns {columns}"
    if "dtype" in spec:
        shape = ", ".join("n" if size is None else str(size) for size in spec["shape"])
        return f"a {spec['type']} of shape ({shape}) and dtype {spec['dtype']}"
    if "items" in spec:
        return f"a {spec['type']} of {', '.join(spec['items'])}"
    return f"a {spec['type']}"


def conform(data: Any, spec: dict) -> Any:
    """Data read from a file (csv table, json list, npy array) or a request in the form
    the spec expects; as it is when it has that form, or the spec names no other."""
    wanted = spec.get("type", "")
    conformed = CONFORMS.get(wanted)
    if conformed is None or type_name(data) == wanted:
        return data
    return conformed(data, spec)


def conforms(*types: str) -> Callable[[C], C]:
    """Register the way data becomes a value of one of `types`."""

    def register(function: C) -> C:
        CONFORMS.update(dict.fromkeys(types, function))
        return function

    return register


@conforms("list", "tuple")
def conform_sequence(data: Any, spec: dict) -> list | tuple:
    if hasattr(data, "iloc") and getattr(data, "ndim", 1) == 2:
        values = data.iloc[:, 0].tolist()
    else:
        values = list(data)
    return values if spec["type"] == "list" else tuple(values)


@conforms("numpy.ndarray")
def conform_array(data: Any, spec: dict) -> Any:
    import numpy

    values = data.to_numpy() if hasattr(data, "to_numpy") else data
    return numpy.asarray(values, dtype=spec["dtype"])


@conforms("pandas.DataFrame")
def conform_table(data: Any, spec: dict) -> Any:
    import pandas

    if hasattr(data, "columns"):
        return data
    records = isinstance(data, list) and bool(data) and isinstance(data[0], dict)
    names = None if records else [column["name"] for column in spec["columns"]]
    return pandas.DataFrame(data, columns=names)


@conforms("pandas.Series")
def conform_series(data: Any, spec: dict) -> Any:
    import pandas

    return data.iloc[:, 0] if hasattr(data, "iloc") else pandas.Series(data)
