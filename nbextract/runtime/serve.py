"""HTTP serving: the Predictor behind the Open Inference Protocol v2 (KServe, Triton), a simple JSON route and
Prometheus metrics, on FastAPI and uvicorn (the [serve] extra).

Routes: GET /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME, /v2/models/NAME/ready;
POST /v2/models/NAME/infer ({"inputs": [{"name", "shape", "datatype", "data"}]}); POST /predict
({"instances": rows or {"columns": [...], "data": [...]}}); GET /metrics. An error is one line of JSON,
{"message": "..."}: 400 malformed JSON, 404 unknown model or route, 413 body over the size limit, 422 input the
checks refuse.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import tempfile
import time
from contextlib import asynccontextmanager, contextmanager
from importlib import metadata
from pathlib import Path

import numpy

# the [serve] extra, which a checkout linted without it (pip install -e '.[test]') lacks
# pylint: disable=import-error
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from .artifacts import root_of, version_of, versions
from .checks import conform, plain
from .config import ENV_PREFIX, load_settings
from .model import ARTIFACTS, artifact_path
from .pipeline import INPUT_NAME, OUTPUT_NAME, Predictor, Trace

logger = logging.getLogger(__name__)

PACKAGE = __name__.rpartition(".")[0]
MAX_REQUEST_BYTES = 16 * 2**20
LIMIT_VARIABLE = f"{ENV_PREFIX}MAX_REQUEST_BYTES"
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
DATATYPES = {
    "bool": "BOOL",
    **{f"int{bits}": f"INT{bits}" for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": f"UINT{bits}" for bits in (8, 16, 32, 64)},
    **{f"float{bits}": f"FP{bits}" for bits in (16, 32, 64)},
}
NUMPY_TYPES = {**{name: dtype for dtype, name in DATATYPES.items()}, "BYTES": object}
INPUT_ERRORS = (ValueError, TypeError, KeyError, OverflowError)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


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


class Metrics:
    """The server's Prometheus metrics in a registry of its own; with several workers, each writes to the files of
    PROMETHEUS_MULTIPROC_DIR and /metrics sums them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "inference_requests",
            "HTTP requests by route",
            ["route"],
            registry=self.registry,
        )
        self.errors = Counter(
            "inference_errors",
            "HTTP requests answered with an error status, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "inference_request_seconds",
            "Time to answer an HTTP request, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stages = Histogram(
            "inference_stage_seconds",
            "Time of each stage of a prediction: preprocess, infer, postprocess",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.drift = Counter(
            "inference_drift_warnings",
            "Predictions whose input drifted from the training data, by feature",
            ["feature"],
            registry=self.registry,
        )

    def count(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route).inc()
        self.latency.labels(route).observe(seconds)
        if status >= 400:
            self.errors.labels(route, str(status)).inc()

    def observe(self, trace: Trace) -> None:
        for stage, seconds in trace.seconds.items():
            self.stages.labels(stage).observe(seconds)
        for feature in trace.drifting:
            self.drift.labels(feature).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format, summed over the workers when there are several."""
        if not os.environ.get(MULTIPROCESS_VARIABLE):
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)


class Counted:
    """ASGI middleware: every HTTP request counted by route (its template, not its path), status and time."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        statuses = []

        async def send_noting_status(message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            status = statuses[0] if statuses else 500
            self.metrics.count(route, status, time.perf_counter() - started)


class Limited:
    """ASGI middleware: a request body over `limit` bytes is refused with 413, by its Content-Length before it is
    read, or as it arrives when it has none."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            await too_large(self.limit)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, too_large_message(self.limit))
            return message

        await self.app(scope, receive_within_limit, send)


def too_large(limit: int) -> JSONResponse:
    return JSONResponse({"message": too_large_message(limit)}, status_code=413)


def too_large_message(limit: int) -> str:
    return f"request body over {limit} bytes; send fewer rows per request or raise {LIMIT_VARIABLE}"


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def refused(error: object) -> HTTPException:
    """The 422 of an input the checks (or the model) refuse."""
    return HTTPException(422, one_line(error))


def error_answer(_request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse(
        {"message": one_line(error.detail)},
        status_code=error.status_code,
        headers=error.headers,
    )


def invalid_request_answer(_request: Request, error: RequestValidationError):
    """400 for a body that is not JSON; 422, naming the first wrong field, for JSON not shaped like the request."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return JSONResponse({"message": "malformed JSON body"}, status_code=400)
    where = ".".join(str(part) for part in first["loc"] if part != "body")
    hint = "" if where else " (send JSON, with Content-Type: application/json)"
    return JSONResponse(
        {"message": one_line(f"{where or 'body'}: {first['msg']}{hint}")},
        status_code=422,
    )


def failure_answer(_request: Request, error: Exception) -> JSONResponse:
    """500 for a failure of the server itself (uvicorn logs its traceback)."""
    return JSONResponse(
        {"message": f"internal error: {type(error).__name__}"}, status_code=500
    )


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


def platform(predictor: Predictor) -> str:
    """The library of the fitted state (sklearn, torch, transformers, ...), from the class of its first artifact."""
    modules = [
        type(value).__module__.split(".")[0] for value in predictor.artifacts.values()
    ]
    return next((module for module in modules if module != "builtins"), "python")


def package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "0.1.0"


def warmed_outputs(predictor: Predictor) -> list[dict]:
    """The outputs of the model metadata, from one prediction on the recorded example (which also warms the model
    up); none when there is no example, or the model refuses it."""
    example = example_input(predictor.profile.get("spec", {}))
    if example is None:
        return []
    try:
        return output_metadata(predictor.predict(example))
    except INPUT_ERRORS as error:
        logger.warning("the recorded example did not predict: %s", one_line(error))
        return []


def create_app(
    predictor: Predictor | None = None, max_request_bytes: int | None = None
) -> FastAPI:
    """The server's app; at start-up it loads the Predictor from config.toml (unless given one), once."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.predictor = predictor or Predictor.from_config()
        app.state.outputs = warmed_outputs(app.state.predictor)
        app.state.metadata = model_metadata(app.state.predictor, app.state.outputs)
        yield

    limit = max_request_bytes or int(os.environ.get(LIMIT_VARIABLE, MAX_REQUEST_BYTES))
    app = FastAPI(title=PACKAGE, version=package_version(), lifespan=lifespan)
    app.state.metrics = Metrics()
    app.add_middleware(Limited, limit=limit)
    app.add_middleware(Counted, metrics=app.state.metrics)
    app.add_exception_handler(HTTPException, error_answer)
    app.add_exception_handler(RequestValidationError, invalid_request_answer)
    app.add_exception_handler(Exception, failure_answer)
    add_routes(app)
    return app


def model_metadata(predictor: Predictor, outputs: list[dict]) -> dict:
    """v2 model metadata: `versions` are the artifact sets there are, `version` the one loaded."""
    return {
        "name": PACKAGE,
        "version": version_of(Path(predictor.settings.artifacts_dir)),
        "versions": versions(root_of(Path(predictor.settings.artifacts_dir))),
        "platform": platform(predictor),
        "inputs": input_metadata(predictor.profile.get("spec", {})),
        "outputs": outputs,
    }


def known_model(model_name: str) -> None:
    if model_name != PACKAGE:
        raise HTTPException(
            404, f"unknown model {model_name!r}; this server has {PACKAGE!r}"
        )


def loaded(request: Request) -> None:
    if not hasattr(request.app.state, "predictor"):
        raise HTTPException(503, "the model is not loaded yet")


def predicted(request: Request, build) -> Trace:
    """The prediction on the input `build()` makes of the request; input the checks refuse is a 422."""
    state = request.app.state
    try:
        trace = state.predictor.traced(build(state.predictor.profile.get("spec", {})))
    except INPUT_ERRORS as error:
        raise refused(error) from None
    state.metrics.observe(trace)
    return trace


def add_routes(app: FastAPI) -> None:
    @app.get("/v2")
    def server_metadata() -> dict:
        return {"name": PACKAGE, "version": package_version(), "extensions": []}

    @app.get("/v2/health/live")
    def live() -> dict:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready(request: Request) -> dict:
        loaded(request)
        return {"ready": True}

    @app.get("/v2/models/{model_name}")
    def model(model_name: str, request: Request) -> dict:
        known_model(model_name)
        return request.app.state.metadata

    @app.get("/v2/models/{model_name}/ready")
    def model_ready(model_name: str, request: Request) -> dict:
        known_model(model_name)
        loaded(request)
        return {"name": PACKAGE, "ready": True}

    @app.post("/v2/models/{model_name}/infer")
    def infer(model_name: str, body: InferenceRequest, request: Request) -> dict:
        known_model(model_name)
        trace = predicted(request, lambda spec: tensors_input(body.inputs, spec))
        answer = {
            "model_name": PACKAGE,
            "model_version": request.app.state.metadata["version"],
        }
        if body.id is not None:
            answer["id"] = body.id
        return {**answer, "outputs": tensors(trace.output, OUTPUT_NAME)}

    @app.post("/predict")
    def predict(body: PredictRequest, request: Request) -> dict:
        trace = predicted(request, lambda spec: instances_input(body.instances, spec))
        return {"predictions": jsonable(trace.output)}

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        return Response(
            request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST
        )


def startup_problem() -> str | None:
    """Why the server could not start (settings that do not load, no trained artifacts), before it binds a port."""
    try:
        settings = load_settings()
    except ValueError as error:
        return str(error)
    missing = [name for name in ARTIFACTS if not artifact_path(settings, name).exists()]
    if missing:
        return (
            f"artifact {missing[0]!r} not found in {settings.artifacts_dir}; run `python training/train.py` "
            "first (and reinstall an installed package)"
        )
    return None


def exit_on_sigterm(_signum, _frame) -> None:
    """SIGTERM ends the process with status 0: uvicorn, having drained its connections, raises it again."""
    raise SystemExit(0)


def serve(
    host: str, port: int, workers: int = 1, max_request_bytes: int | None = None
) -> int:
    """Serve until SIGTERM or Ctrl-C; each of `workers` processes loads the Predictor once."""
    problem = startup_problem()
    if problem:
        raise SystemExit(problem)
    if max_request_bytes:
        os.environ[LIMIT_VARIABLE] = str(max_request_bytes)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    with metrics_folder(workers):
        uvicorn.run(
            f"{__name__}:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            timeout_graceful_shutdown=30,
        )
    return 0


@contextmanager
def metrics_folder(workers: int):
    """Several workers share their metrics through files: a temporary folder for them, unless
    PROMETHEUS_MULTIPROC_DIR names one."""
    if workers == 1 or os.environ.get(MULTIPROCESS_VARIABLE):
        yield
        return
    with tempfile.TemporaryDirectory(prefix=f"{PACKAGE}-metrics-") as folder:
        os.environ[MULTIPROCESS_VARIABLE] = folder
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_VARIABLE]
