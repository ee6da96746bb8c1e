"""Serving (contract, "Serving"): a converted and trained sample answers over HTTP what the source itself computed.

A table (churn_column_transformer) and text (text_tfidf_sentiment), each run for its own input and output values
(capture_source.py), converted, given its training data, trained, and served by `python -m NAME serve` in a
subprocess started in another folder. Each route is compared with the source's values; errors are one line of JSON
with their status; /metrics counts what was asked; SIGTERM ends a server of several workers with status 0.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from nbextract import context, graph, magics, read, render, rewrite, slice
from nbextract.options import Options
from sample_cases import SAMPLE_CASES
from test_end_to_end import PREDICT, assert_equivalent, put_training_data, run, sample_copies

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KINDS = {"table": "churn_column_transformer.ipynb", "text": "text_tfidf_sentiment.ipynb"}
CASES = {case["file"]: case for case in SAMPLE_CASES}
LIMIT = 65536
DATATYPES = {"int64": "INT64", "float64": "FP64", "bool": "BOOL"}

pytestmark = pytest.mark.e2e


@dataclass
class Served:
    name: str
    out: Path
    elsewhere: Path
    source_input: object
    source_output: object
    http: httpx.Client

    @property
    def model(self) -> str:
        return f"/v2/models/{self.name}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(out: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(out / "src")}


def start(name: str, out: Path, cwd: Path, *options: str) -> tuple[subprocess.Popen, int]:
    """`python -m NAME serve` on a free loopback port, from `cwd`, once it answers ready."""
    port = free_port()
    log = (cwd / f"serve-{port}.log").open("wb")
    command = [sys.executable, "-m", name, "serve", "--port", str(port), *options]
    process = subprocess.Popen(command, cwd=cwd, env=environment(out), stdout=log, stderr=log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, (cwd / f"serve-{port}.log").read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=5).status_code == 200:
                return process, port
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"no server on port {port}")


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return sample_copies(tmp_path_factory.mktemp("serving"))


def converted_and_trained(workspace: Path, kind: str) -> tuple[str, Path, dict]:
    """The sample's project, trained, and the values the sample itself held."""
    case = CASES[KINDS[kind]]
    name = Path(case["file"]).stem
    original = workspace / "run" / case["file"]
    captured = workspace / f"{name}.pickle"
    run([sys.executable, str(ROOT / "tests" / "capture_source.py"), str(original), str(captured), case["input"], case["output"]], original.parent)
    out = workspace / "out" / name
    run([str(BIN / "nbextract"), "convert", str(workspace / "samples" / case["file"]), "-o", str(out), "--force"], workspace)
    put_training_data(out, workspace / "samples")
    run([sys.executable, "training/train.py"], out)
    values = pickle.loads(captured.read_bytes())
    return name, out, {"input": values[case["input"]], "output": values[case["output"]]}


def served(workspace: Path, kind: str):
    name, out, values = converted_and_trained(workspace, kind)
    elsewhere = workspace / f"elsewhere-{name}"
    elsewhere.mkdir()
    process, port = start(name, out, elsewhere, "--max-request-bytes", str(LIMIT))
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        yield Served(name, out, elsewhere, values["input"], values["output"], client)
    stop(process)


@pytest.fixture(scope="module")
def table(workspace):
    yield from served(workspace, "table")


@pytest.fixture(scope="module")
def text(workspace):
    yield from served(workspace, "text")


@pytest.fixture(params=KINDS)
def sample(request) -> Served:
    return request.getfixturevalue(request.param)


def instances(value) -> list:
    """The rows of the source's input as JSON: records of a frame, items of a series or list."""
    return value.to_dict("records") if isinstance(value, pd.DataFrame) else list(value.tolist() if hasattr(value, "tolist") else value)


def datatype(values) -> str:
    return DATATYPES.get(str(np.asarray(values).dtype), "BYTES")


def column_tensors(frame: pd.DataFrame) -> list[dict]:
    return [{"name": column, "shape": [len(frame)], "datatype": datatype(frame[column]), "data": frame[column].tolist()} for column in frame.columns]


def assert_outputs(answer: httpx.Response, served: Served) -> None:
    assert answer.status_code == 200, answer.text
    (output,) = answer.json()["outputs"]
    expected = np.asarray(served.source_output)
    assert output["name"] == "y_pred" and output["shape"] == list(expected.shape)
    assert output["datatype"] == datatype(expected)
    assert_equivalent(output["data"], expected.reshape(-1), floats=False)


def assert_refused(answer: httpx.Response, status: int, says: str) -> None:
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert answer.text.count("\n") == 0 and list(answer.json()) == ["message"]
    assert says in answer.json()["message"]


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    """The value of one sample of /metrics (0 when it has not been counted yet)."""
    families = text_string_to_metric_families(client.get("/metrics").text)
    wanted = {key: str(value) for key, value in labels.items()}
    return sum(sample.value for family in families for sample in family.samples if sample.name == name and sample.labels == wanted)


def test_predict_answers_what_the_source_computed(sample):
    answer = sample.http.post("/predict", json={"instances": instances(sample.source_input)})
    assert answer.status_code == 200, answer.text
    assert_equivalent(answer.json()["predictions"], sample.source_output, floats=False)


def test_a_table_by_columns_records_in_any_order_and_v2_tensors_answer_the_same(table):
    frame = table.source_input
    split = {"columns": list(frame.columns), "data": [list(row.values()) for row in instances(frame)]}
    answer = table.http.post("/predict", json={"instances": split})
    assert_equivalent(answer.json()["predictions"], table.source_output, floats=False)
    shuffled = [dict(reversed(list(row.items()))) for row in instances(frame)]
    answer = table.http.post("/predict", json={"instances": shuffled})
    assert_equivalent(answer.json()["predictions"], table.source_output, floats=False)
    assert_outputs(table.http.post(f"{table.model}/infer", json={"id": "7", "inputs": column_tensors(frame)}), table)
    rows = {"name": "X_test", "shape": list(frame.shape), "datatype": "BYTES", "data": split["data"]}
    assert_outputs(table.http.post(f"{table.model}/infer", json={"inputs": [rows]}), table)


def test_text_as_a_bytes_tensor_answers_the_same(text):
    texts = instances(text.source_input)
    tensor = {"name": "X_test", "shape": [len(texts)], "datatype": "BYTES", "data": texts}
    assert_outputs(text.http.post(f"{text.model}/infer", json={"inputs": [tensor]}), text)


def test_metadata_describes_the_model_its_inputs_and_outputs(table, text):
    metadata = table.http.get(table.model).json()
    frame = table.source_input
    assert metadata["name"] == table.name and metadata["platform"] == "sklearn"
    assert metadata["inputs"] == [{"name": column, "datatype": datatype(frame[column]), "shape": [-1]} for column in frame.columns]
    assert metadata["outputs"] == [{"name": "y_pred", "datatype": datatype(table.source_output), "shape": [-1]}]
    assert text.http.get(text.model).json()["inputs"] == [{"name": "X_test", "datatype": "BYTES", "shape": [-1]}]
    assert table.http.get("/v2/health/live").json() == {"live": True}
    assert table.http.get(f"{table.model}/ready").json() == {"name": table.name, "ready": True}


def test_input_the_checks_refuse_is_a_one_line_422(table, text):
    rows = [{key: value for key, value in row.items() if key != "contract"} for row in instances(table.source_input)]
    assert_refused(table.http.post("/predict", json={"instances": rows}), 422, "lacks column(s) contract")
    assert_refused(text.http.post("/predict", json={"instances": [1, 2]}), 422, "dtype str")
    words = {"name": "X_test", "shape": [2], "datatype": "FP64", "data": ["good", "bad"]}
    assert_refused(text.http.post(f"{text.model}/infer", json={"inputs": [words]}), 422, "'X_test'")
    short = {"name": "X_test", "shape": [3], "datatype": "BYTES", "data": ["good", "bad"]}
    assert_refused(text.http.post(f"{text.model}/infer", json={"inputs": [short]}), 422, "reshape")
    assert_refused(text.http.post("/predict", json={"rows": []}), 422, "instances")
    assert_refused(text.http.post("/predict", json={"instances": []}), 422, "empty")


def test_malformed_json_is_a_400_and_an_unknown_model_or_route_a_404(text):
    answer = text.http.post("/predict", content=b'{"instances": [', headers={"Content-Type": "application/json"})
    assert_refused(answer, 400, "malformed JSON")
    assert_refused(text.http.post("/v2/models/another/infer", json={"inputs": []}), 404, "another")
    assert_refused(text.http.get("/v3"), 404, "Not Found")


def test_a_body_over_the_limit_is_a_413(text):
    body = json.dumps({"instances": ["word " * (LIMIT // 4)]}).encode()
    answer = text.http.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert_refused(answer, 413, str(LIMIT))
    assert text.http.post("/predict", json={"instances": ["fine"]}).status_code == 200


def test_metrics_count_requests_errors_stages_and_drift(table):
    client = table.http
    before = {
        "requests": metric(client, "inference_requests_total", route="/predict"),
        "refused": metric(client, "inference_errors_total", route="/predict", status="422"),
        "infer": metric(client, "inference_stage_seconds_count", stage="infer"),
        "drift": metric(client, "inference_drift_warnings_total", feature="monthly_charges"),
    }
    rows = instances(table.source_input)
    drifted = [{**row, "monthly_charges": row["monthly_charges"] * 100} for row in rows * 2]
    for body in ({"instances": rows}, {"instances": drifted}, {"instances": []}):
        client.post("/predict", json=body)
    assert metric(client, "inference_requests_total", route="/predict") == before["requests"] + 3
    assert metric(client, "inference_errors_total", route="/predict", status="422") == before["refused"] + 1
    assert metric(client, "inference_stage_seconds_count", stage="infer") == before["infer"] + 2
    assert metric(client, "inference_drift_warnings_total", feature="monthly_charges") == before["drift"] + 1
    assert metric(client, "inference_request_seconds_count", route="/predict") >= 3


def test_several_workers_serve_sum_their_metrics_and_stop_on_sigterm_with_status_0(table):
    process, port = start(table.name, table.out, table.elsewhere, "--workers", "2")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for _ in range(4):
                answer = client.post("/predict", json={"instances": instances(table.source_input)})
                assert_equivalent(answer.json()["predictions"], table.source_output, floats=False)
            assert metric(client, "inference_requests_total", route="/predict") == 4
    finally:
        assert stop(process) == 0


def test_the_generated_serving_tests_pass_on_the_recorded_example_row(table):
    """(tests/test_execute.py runs them on the golden input of executed samples.)"""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_serve.py"], cwd=table.out, env=environment(table.out), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_a_missing_value_sent_as_null_is_predicted_as_predict_predicts_nan(table):
    frame = table.source_input.head(5).astype({"monthly_charges": float})
    frame.loc[frame.index[:2], "monthly_charges"] = np.nan
    (table.elsewhere / "input.pickle").write_bytes(pickle.dumps(frame))
    run([sys.executable, "-c", PREDICT, table.name, "input.pickle", "result.pickle"], table.elsewhere, environment(table.out))
    rows = [{**row, "monthly_charges": None} if index < 2 else row for index, row in enumerate(instances(frame))]
    answer = table.http.post("/predict", json={"instances": rows})
    assert answer.status_code == 200, answer.text
    assert_equivalent(answer.json()["predictions"], pickle.loads((table.elsewhere / "result.pickle").read_bytes()), floats=False)


def test_without_the_serve_extra_serving_is_a_one_line_error(table):
    hide = f"import runpy, sys; sys.modules['fastapi'] = None; sys.argv = ['{table.name}', 'serve']; runpy.run_module('{table.name}', run_name='__main__')"
    result = subprocess.run([sys.executable, "-c", hide], cwd=table.elsewhere, env=environment(table.out), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == f"serving needs fastapi: pip install '{table.name}[serve]'\n"


def test_the_image_checks_its_health_with_python_serves_as_a_user_and_takes_torch_from_the_cpu_wheels(table):
    dockerfile = (table.out / "Dockerfile").read_text()
    assert "\nUSER app\n" in dockerfile and "\nEXPOSE 8080\n" in dockerfile and "torch" not in dockerfile
    assert dockerfile.endswith('CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]\n')
    check = json.loads(dockerfile.split("HEALTHCHECK", 1)[1].split("CMD", 1)[1].splitlines()[0])
    port = str(table.http.base_url.port)
    assert subprocess.run([part.replace("8080", port) for part in check], timeout=60).returncode == 0
    assert subprocess.run([part.replace("8080", str(free_port())) for part in check], capture_output=True, timeout=60).returncode != 0
    torch_image = rendered_file(ROOT / "sample_notebooks" / "wine_torch_mlp.ipynb", "Dockerfile")
    assert 'ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu\n' in torch_image
    assert 'RUN pip install --require-hashes --extra-index-url "$TORCH_INDEX" -r requirements.txt\n' in torch_image


def rendered_file(source: Path, path: str) -> str:
    """One file of the project `nbextract convert` would write from `source`, rendered in this process."""
    options = Options(source=source, output=source.parent / "unused")
    document = read.read(source)
    planned = slice.plan(graph.build(document, magics.normalise(document)), options)
    return render.render(context.build(planned, rewrite.rewrite(planned), options))[path]
