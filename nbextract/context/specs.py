"""What the specs --execute recorded say: the input and output kinds of a model card's task, and a row of a table
input as Open Inference Protocol tensors."""

from __future__ import annotations


def input_kind(spec: dict) -> str:
    """tabular (columns), text (strings, one a row) or empty: the input half of a model card's task."""
    if "columns" in spec:
        return "tabular"
    one_string_a_row = spec.get("dtype") in ("str", "object") and len(spec.get("shape", ())) == 1
    return "text" if spec.get("items") == ["str"] or one_string_a_row else ""


def output_kind(spec: dict) -> str:
    """regression (floats), classification (any other recorded output) or empty: the output half of the task."""
    dtype = spec.get("dtype", "")
    if dtype.startswith(("float", "Float")) or spec.get("items") == ["float"]:
        return "regression"
    return "classification" if dtype or spec.get("items") else ""


def column_tensor(column: dict, value: object) -> dict:
    """One column of a row as an Open Inference Protocol tensor of one value."""
    return {"name": column["name"], "shape": [1], "datatype": tensor_datatype(column["dtype"]), "data": [value]}


def tensor_datatype(dtype: str) -> str:
    """The Open Inference Protocol datatype of a column's dtype."""
    if dtype.startswith(("int", "Int")):
        return "INT64"
    if dtype.startswith(("float", "Float")):
        return "FP64"
    return "BOOL" if dtype == "bool" else "BYTES"
