"""HTTP serving: the Predictor behind the Open Inference Protocol v2 (KServe, Triton), a simple JSON route and
Prometheus metrics, on FastAPI and uvicorn (the [serve] extra).

Routes: GET /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME, /v2/models/NAME/ready;
POST /v2/models/NAME/infer ({"inputs": [{"name", "shape", "datatype", "data"}]}); POST /predict
({"instances": rows or {"columns": [...], "data": [...]}}); GET /metrics. An error is one line of JSON,
{"message": "..."}: 400 malformed JSON, 404 unknown model or route, 413 body over the size limit, 422 input the
checks refuse. The bodies and their conversions are in inference_protocol.py, the middleware and metrics in
http_middleware.py.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
from contextlib import asynccontextmanager, contextmanager
from importlib import metadata
from pathlib import Path

# the [serve] extra, which a checkout linted without it (pip install -e '.[test]') lacks
# pylint: disable=import-error
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from .artifacts import root_of, version_of, versions
from .config import load_settings
from .http_middleware import (
    LIMIT_VARIABLE,
    MULTIPROCESS_VARIABLE,
    Counted,
    Limited,
    Metrics,
)
from .inference_protocol import (
    INPUT_ERRORS,
    InferenceRequest,
    PredictRequest,
    example_input,
    input_metadata,
    instances_input,
    jsonable,
    one_line,
    output_metadata,
    refused,
    tensors,
    tensors_input,
)
from .model import ARTIFACTS, artifact_path
from .pipeline import OUTPUT_NAME, Predictor, Trace

logger = logging.getLogger(__name__)


PACKAGE = __name__.rpartition(".")[0]
MAX_REQUEST_BYTES = 16 * 2**20


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
    # Starlette types a handler as taking any Exception; each takes the one it is added for
    app.add_exception_handler(HTTPException, error_answer)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid_request_answer)  # type: ignore[arg-type]
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
