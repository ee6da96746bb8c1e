"""The bodies the server reads and writes: Open Inference Protocol v2 tensors and /predict's instances as
predict() input, predictions as tensors and JSON, and the model metadata of inputs and outputs.
"""

from __future__ import annotations

import math

import numpy

# the [serve] extra, which a checkout linted without it (pip install -e '.[test]') lacks
# pylint: disable=import-error
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from .checks import conform, plain
from .pipeline import INPUT_NAME, OUTPUT_NAME

DATATYPES = {
    "bool": "BOOL",
    **{f"int{bits}": f"INT{bits}" for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": f"UINT{bits}" for bits in (8, 16, 32, 64)},
    **{f"float{bits}": f"FP{bits}" for bits in (16, 32, 64)},
}
NUMPY_TYPES: dict[str, str | type] = {
    **{name: dtype for dtype, name in DATATYPES.items()},
    "BYTES": object,
}
INPUT_ERRORS = (ValueError, TypeError, KeyError, OverflowError)


class Tensor(BaseModel):
    """A tensor of the inference protocol; `data` flat in row-major order, or nested in `shape`."""

    name: str
    shape: list[int]
    datatype: str
    data: list
    parameters: dict | None = None


class InferenceRequest(BaseModel):
    id: str | None = None
    inputs: list[Tensor]
    outputs: list[dict] | None = None
    parameters: dict | None = None


class Frame(BaseModel):
    """The rows of a table by columns, as pandas' `to_dict(orient="split")` writes them."""

    columns: list[str]
    data: list[list]


class PredictRequest(BaseModel):
    instances: list | Frame


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def refused(error: object) -> HTTPException:
    """The 422 of an input the checks (or the model) refuse."""
    return HTTPException(422, one_line(error))


def datatype(dtype: str) -> str:
    """The protocol's datatype of a numpy, pandas or torch dtype name (text and the rest are BYTES)."""
    return DATATYPES.get(dtype.removeprefix("torch.").lower(), "BYTES")


def as_array(value) -> numpy.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return numpy.asarray(value)


def jsonable(value):
    """Lists, dicts and Python scalars of a value: a frame becomes its records, an array, series or tensor its
    nested lists; numpy scalars become Python ones, and a missing value (a float that is not finite) becomes null.
    """
    if hasattr(value, "columns"):
        value = value.to_dict("records")
    elif hasattr(value, "detach"):
        value = value.detach().cpu()
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return scalar(value)


def scalar(value):
    """plain(value), but null for a float that is not finite: JSON has no NaN."""
    number = value.item() if hasattr(value, "item") else value
    if isinstance(number, float) and not math.isfinite(number):
        return None
    return plain(number)


def tensors(value, name: str) -> list[dict]:
    """The protocol's tensors of a value: one per column of a frame, else one called `name`."""
    if hasattr(value, "columns"):
        return [tensor(str(column), value[column]) for column in value.columns]
    return [tensor(name, value)]


def tensor(name: str, value) -> dict:
    array = as_array(value)
    return {
        "name": name,
        "shape": list(array.shape),
        "datatype": datatype(array.dtype.name),
        "data": jsonable(array.reshape(-1)),
    }


def tensor_array(item: Tensor) -> numpy.ndarray:
    """A request tensor's data as an array of its shape and datatype (BYTES: Python objects, as sent)."""
    if item.datatype not in NUMPY_TYPES:
        known = ", ".join(NUMPY_TYPES)
        raise refused(f"input {item.name!r}: datatype {item.datatype!r}; use {known}")
    try:
        array = numpy.asarray(item.data, dtype=NUMPY_TYPES[item.datatype])
        return array.reshape(item.shape)
    except INPUT_ERRORS as error:
        raise refused(f"input {item.name!r}: {error}") from None


def column_names(spec: dict) -> list[str]:
    return [column["name"] for column in spec.get("columns", [])]


def ordered(row, names: list[str]):
    """A record with the spec's columns first, in the spec's order (a model fitted on a frame wants that order)."""
    if not isinstance(row, dict):
        return row
    return {**{name: row[name] for name in names if name in row}, **row}


def tensors_input(inputs: list[Tensor], spec: dict):
    """The predict() input of a request's tensors: one tensor per column of a table, or one tensor of rows."""
    names = column_names(spec)
    if names and {item.name for item in inputs} <= set(names):
        columns = {
            item.name: tensor_array(item).reshape(-1).tolist() for item in inputs
        }
        if len({len(values) for values in columns.values()}) > 1:
            raise refused("the column tensors have different lengths")
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
        return conform([ordered(row, names) for row in rows], spec)
    if len(inputs) != 1:
        expected = f"one tensor per column ({', '.join(names)}) or " if names else ""
        raise refused(f"expected {expected}one input tensor; got {len(inputs)}")
    return conform(tensor_array(inputs[0]).tolist(), spec)


def instances_input(instances: list | Frame, spec: dict):
    """The predict() input of /predict's instances: rows (records or lists), or a table by columns."""
    if isinstance(instances, Frame):
        instances = [dict(zip(instances.columns, row)) for row in instances.data]
    names = column_names(spec)
    return conform([ordered(row, names) for row in instances], spec)


def example_input(spec: dict):
    """One row like the spec's recorded example, in predict()'s form; None when no example was recorded."""
    if spec.get("example") is None:
        return None
    return conform([spec["example"]], spec)


def input_metadata(spec: dict) -> list[dict]:
    """The inputs of the model metadata: a table's columns, or the one input of the spec's type."""
    if "columns" in spec:
        return [
            {
                "name": column["name"],
                "datatype": datatype(column["dtype"]),
                "shape": [-1],
            }
            for column in spec["columns"]
        ]
    shape = [-1 if size is None else size for size in spec.get("shape", [])]
    if "dtype" in spec:
        return [
            {"name": INPUT_NAME, "datatype": datatype(spec["dtype"]), "shape": shape}
        ]
    if "items" in spec:
        items = {"int": "INT64", "float": "FP64", "bool": "BOOL"}
        kind = (
            items.get(spec["items"][0], "BYTES") if len(spec["items"]) == 1 else "BYTES"
        )
        return [{"name": INPUT_NAME, "datatype": kind, "shape": shape}]
    return []


def output_metadata(output) -> list[dict]:
    return [
        {
            "name": item["name"],
            "datatype": item["datatype"],
            "shape": [-1, *item["shape"][1:]],
        }
        for item in tensors(output, OUTPUT_NAME)
    ]
