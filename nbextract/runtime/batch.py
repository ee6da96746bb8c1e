"""Batch prediction past one machine: Ray Data and Spark run the same Predictor, loaded
once per worker.

Ray Data (`pip install 'NAME[ray]'`), each batch a pandas DataFrame or a dict of arrays:

    ds.map_batches(BatchPredictor, batch_format="pandas", concurrency=2)

Spark (`pip install 'NAME[spark]'`), the input's columns in the order of input_columns():

    df.withColumn("prediction", spark_udf()(*input_columns()))

The columns that hold the input are the recorded input's columns (artifacts/ input
profile, "spec") for a table; otherwise all of the batch's columns: one column of values
(texts...) for a list or series, one column of rows or several of numbers for an array.
"""

from __future__ import annotations

import importlib
import inspect
from functools import partial

from .checks import conform, load_profile
from .config import load_settings
from .pipeline import Predictor

PACKAGE = __package__
PREDICTION = "prediction"
# rows per predict() call in Spark by default: one Arrow batch of Spark's
SPARK_BATCH_ROWS = 10_000
ONE_COLUMN_TYPES = ("list", "tuple", "pandas.Series")
SPARK_TYPES = {  # numpy dtype kind and item size -> Spark SQL type
    ("b", 1): "ByteType",
    ("i", 1): "ByteType",
    ("i", 2): "ShortType",
    ("i", 4): "IntegerType",
    ("i", 8): "LongType",
    ("u", 1): "ShortType",
    ("u", 2): "IntegerType",
    ("u", 4): "LongType",
    ("f", 4): "FloatType",
    ("f", 8): "DoubleType",
}


def extra_module(module: str, extra: str):
    """`module` imported, or a one-line ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{module.split('.')[0]} is not installed: pip install '{PACKAGE}[{extra}]'"
        ) from None


class BatchPredictor:
    """For `Dataset.map_batches(BatchPredictor, batch_format="pandas", concurrency=N)`:
    each worker loads the Predictor once (`path` and `overrides` as
    Predictor.from_config takes them); a batch comes back with a `prediction` column.
    `columns` names the batch's input columns when they are not the recorded ones."""

    def __init__(self, path=None, columns=None, **overrides) -> None:
        self.predictor = Predictor.from_config(path, **overrides)
        self.spec = self.predictor.profile.get("spec", {})
        self.columns = list(columns) if columns else None

    def __call__(self, batch):
        values = self.predict(batch)
        if hasattr(batch, "assign"):
            return batch.assign(
                **{PREDICTION: list(values) if values.ndim > 1 else values}
            )
        return {**batch, PREDICTION: values}

    def predict(self, batch):
        """The prediction of each row of `batch` (a DataFrame or column -> values), as an
        array of one value or one row of values per row."""
        names = batch_columns(batch, self.spec, self.columns)
        inputs = model_input({name: batch[name] for name in names}, self.spec)
        return row_values(self.predictor.predict(inputs), batch_rows(batch))


def input_columns(path=None, **overrides) -> list[str]:
    """The columns of the recorded input (a table), in the order spark_udf() takes them;
    empty when the input is not a table (one column of values or of rows then)."""
    return table_columns(load_profile(load_settings(path, **overrides)).get("spec", {}))


def table_columns(spec: dict) -> list[str]:
    return [column["name"] for column in spec.get("columns", [])]


def batch_columns(batch, spec: dict, columns: list[str] | None) -> list[str]:
    """The batch's input columns: those given, the recorded table's, or all of them (one
    only where the input is a list or series of values)."""
    names = (
        columns or table_columns(spec) or [name for name in batch if name != PREDICTION]
    )
    if spec.get("type") in ONE_COLUMN_TYPES and len(names) != 1:
        raise ValueError(
            f"predict() takes one column of values ({spec['type']}); got columns "
            f"{', '.join(map(str, names))}: name the input column (columns=[...])"
        )
    return names


def batch_rows(batch) -> int:
    return len(batch) if hasattr(batch, "columns") else len(next(iter(batch.values())))


def model_input(columns: dict, spec: dict):
    """Input columns (name -> values) in the form predict() expects, by the recorded
    spec: a table, an array, a list or series of values."""
    if spec.get("type") == "numpy.ndarray":
        return array_input(list(columns.values()), spec)
    import pandas

    plain = {name: numpy_backed(values) for name, values in columns.items()}
    return conform(pandas.DataFrame(plain), spec)


def numpy_backed(values):
    """A column as numpy holds it: an Arrow-backed pandas column (as Ray Data reads
    parquet: double[pyarrow]...) takes the numpy dtype the model saw in training."""
    dtype = getattr(values, "dtype", None)
    return (
        values.astype(dtype.numpy_dtype) if hasattr(dtype, "pyarrow_dtype") else values
    )


def array_input(values: list, spec: dict):
    """An array of the recorded shape from scalar columns side by side, or from one
    column of rows (flattened or not)."""
    import numpy

    if len(values) > 1:
        array = numpy.column_stack(values)
    else:
        array = numpy.asarray(values[0])
        if array.dtype == object and len(spec["shape"]) > 1:
            array = numpy.stack(list(array))
    return array.reshape(-1, *spec["shape"][1:])


def row_values(result, rows: int):
    """predict()'s result as an array with one value (or one row of values) per input
    row; a result of another length is an error: the model does not predict by row."""
    import numpy

    if hasattr(result, "detach"):
        result = result.detach().cpu()
    values = numpy.asarray(result.to_numpy() if hasattr(result, "to_numpy") else result)
    if values.ndim == 0 or len(values) != rows:
        raise ValueError(
            f"predict() returned {values.size} value(s) for {rows} rows: "
            "a batch needs one prediction per row"
        )
    return values


def example_prediction(predictor: Predictor):
    """The prediction for the recorded example row, as row_values gives it."""
    spec = predictor.profile.get("spec", {})
    if "example" not in spec:
        raise ValueError(
            "no recorded input example (artifacts/ input profile): run training/train.py,"
            " or give the return type"
        )
    return row_values(predictor.predict(conform([spec["example"]], spec)), 1)


def spark_type(values):
    """The Spark SQL type of a column of predictions like `values` (a numpy array): a
    number or text, or an array of them for rows of values."""
    types = extra_module("pyspark.sql.types", "spark")
    dtype = values.dtype
    element = (
        getattr(types, SPARK_TYPES[(dtype.kind, dtype.itemsize)])()
        if (dtype.kind, dtype.itemsize) in SPARK_TYPES
        else types.StringType()
    )
    return types.ArrayType(element) if values.ndim > 1 else element


def spark_udf(batch_size: int | None = None, return_type=None, path=None, **overrides):
    """A Spark pandas UDF (pyspark.ml.functions.predict_batch_udf) over the input's
    columns: `df.withColumn("prediction", spark_udf()(*input_columns()))`, or the one
    column of texts, values or (flattened) rows. Each Python worker loads the Predictor
    once and predicts on `batch_size` rows at a time (default SPARK_BATCH_ROWS). The
    return type is that of the prediction for the recorded example, unless given."""
    functions = extra_module("pyspark.ml.functions", "spark")
    spec = load_profile(load_settings(path, **overrides)).get("spec", {})
    if return_type is None:
        return_type = spark_type(
            example_prediction(Predictor.from_config(path, **overrides))
        )
    names = tuple(table_columns(spec) or ["input"])
    return functions.predict_batch_udf(
        partial(columns_predictor, names, path, overrides),
        return_type=return_type,
        batch_size=batch_size or SPARK_BATCH_ROWS,
        input_tensor_shapes=tensor_shapes(spec),
    )


def tensor_shapes(spec: dict) -> list[list[int]] | None:
    """Spark's shape of the rows of an array input of two or more dimensions."""
    shape = spec.get("shape", [])
    return (
        [shape[1:]] if spec.get("type") == "numpy.ndarray" and len(shape) > 1 else None
    )


def columns_predictor(names: tuple[str, ...], path, overrides: dict):
    """predict_batch_udf's predict function, made once per Spark worker: one numpy array
    per input column in the order of `names` -> the predictions (booleans as 0 and 1:
    Spark's predict_batch_udf returns no booleans)."""
    batch = BatchPredictor(path, names, **overrides)

    def predict(*arrays):
        values = batch.predict(dict(zip(names, arrays)))
        return values.astype("int8") if values.dtype == bool else values

    predict.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(f"column_{index}", inspect.Parameter.POSITIONAL_ONLY)
            for index in range(len(names))
        ]
    )
    return predict
