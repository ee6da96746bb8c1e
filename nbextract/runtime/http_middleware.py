"""The server's ASGI middleware and Prometheus metrics: every request counted and timed by route, and a body
over the size limit refused with 413.
"""

from __future__ import annotations

import os
import time

# the [serve] extra, which a checkout linted without it (pip install -e '.[test]') lacks
# pylint: disable=import-error
from fastapi.responses import JSONResponse
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.exceptions import HTTPException

from .config import ENV_PREFIX
from .pipeline import Trace

LIMIT_VARIABLE = f"{ENV_PREFIX}MAX_REQUEST_BYTES"
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


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
