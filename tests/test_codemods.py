"""Rewrite kinds as before/after source strings: secrets to the environment, values to config, provenance."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from nbextract.analyze import analyse
from nbextract.lift import Lifter, LiftValues, may_lift_argument
from nbextract.options import Options
from nbextract.rewrite import provenance, rewrite, sets_environment
from nbextract.slice import plan


def rewritten(tmp_path: Path, source: str, lift: bool = True) -> tuple[str, Lifter]:
    """Each statement as the training script would emit it, without the provenance comments."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "train.csv").write_text("a\n1\n")
    path = tmp_path / "source.py"
    path.write_text(source)
    graph = analyse(path)
    lifter = Lifter(tmp_path, set())
    nodes = []
    for statement in graph.statements:
        if sets_environment(statement):
            continue
        node = provenance(statement.node, statement)
        node = lifter.lift(node, statement) if lift else node
        nodes.append(node.with_changes(leading_lines=[]))
    return cst.Module(body=nodes).code, lifter


CASES = [
    ("secret-assignment", 'TOKEN = "ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG"\n', 'TOKEN = secret("TOKEN")\n'),
    ("secret-keyword", 'login(key="a3f9c0d1e2b3a4f5c6d7e8f9a0b1c2d3e4f5a6b7", api_key=1)\n', "login(key=secret(\"API_KEY\"), api_key=1)\n"),
    ("secret-in-url", 'engine = create_engine("postgresql://ml:S3cr3tPassw0rd!@db:5432/f")\n', 'engine = create_engine(secret("DATABASE_URL"))\n'),
    ("secret-in-fstring", 'h = f"Bearer hf_abcdefghijklmnopqrstuvwxyz0123456789 {x}"\n', 'h = f"{secret(\'HF_TOKEN\')}{x}"\n'),
    ("secret-in-trailing-comment", "x = y + 1  # was ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG\n", "x = y + 1  # was <secret: GITHUB_TOKEN>\n"),
    ("environ-secret-dropped", 'import os\nos.environ["OPENAI_API_KEY"] = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"\n', "import os\n"),
    ("lift-literal-assignment", "RANDOM_STATE = 42\n", "RANDOM_STATE = project_settings.random_state\n"),
    ("lift-seed-keyword", "split(X, y, random_state=7, shuffle=True)\n", "split(X, y, random_state=project_settings.random_state, shuffle=True)\n"),
    ("lift-data-path", 'df = pd.read_csv("data/train.csv")\n', "df = pd.read_csv(project_settings.train_csv)\n"),
    ("lift-path-assignment", 'DATA = "data/train.csv"\n', "DATA = project_settings.data\n"),
    ("keep-column-with-slash", 'r = df["price/sqft"]\n', 'r = df["price/sqft"]\n'),
    ("keep-missing-path", 'df = pd.read_csv("nowhere/x.csv")\n', 'df = pd.read_csv("nowhere/x.csv")\n'),
    ("keep-computed-value", "N = 2 * 21\n", "N = 2 * 21\n"),
]


@pytest.mark.parametrize("source, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_rewrite(tmp_path, source, expected):
    code, _ = rewritten(tmp_path, source)
    assert code == expected


def test_lifted_values_remember_origin_and_share_a_key_for_one_value(tmp_path):
    _, lifter = rewritten(tmp_path, "a = f(random_state=3)\nb = g(random_state=3)\nc = h(random_state=4)\n")
    lifted = sorted((value.key, value.value, value.origin) for value in lifter.values.values())
    assert lifted == [("random_state", 3, "line 1"), ("random_state_2", 4, "line 3")]


def test_provenance_comment_names_cell_and_line(tmp_path):
    path = tmp_path / "source.py"
    path.write_text("x = 1\n\n\ny = x + 1\n")
    statement = analyse(path).statements[1]
    assert cst.Module(body=[provenance(statement.node, statement)]).code == "# line 4\ny = x + 1\n"


def test_a_secret_in_code_commented_out_above_a_statement_is_not_copied(tmp_path):
    path = tmp_path / "source.py"
    path.write_text("x = 1\n# API_KEY = 'sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD'\ny = x + 1\n")
    statement = analyse(path).statements[1]
    emitted = cst.Module(body=[provenance(statement.node, statement)]).code
    assert emitted == "# API_KEY = '<secret: API_KEY>'\n# line 3\ny = x + 1\n"


DEVICE_CASES = [
    ("string", 'device = "cuda:0"\n', "device = resolve_device(project_settings.device)\n"),
    ("to-call", 'model = model.to("cuda")\n', "model = model.to(resolve_device(project_settings.device))\n"),
    ("cuda-method", "net = net.cuda()\n", "net = net.to(resolve_device(project_settings.device))\n"),
    ("torch-device", 'd = torch.device("cuda:1")\n', "d = torch.device(resolve_device(project_settings.device))\n"),
    ("cpu-kept", 'x = x.to("cpu")\n', 'x = x.to("cpu")\n'),
    ("cuda-with-args-kept", "x = x.cuda(non_blocking=True)\n", "x = x.cuda(non_blocking=True)\n"),
]


@pytest.mark.parametrize("source, expected", [case[1:] for case in DEVICE_CASES], ids=[case[0] for case in DEVICE_CASES])
def test_device_resolved_at_run_time(tmp_path, source, expected):
    path = tmp_path / "source.py"
    path.write_text(source)
    statement = analyse(path).statements[0]
    node = provenance(statement.node, statement, "resolve_device(project_settings.device)")
    assert cst.Module(body=[node.with_changes(leading_lines=[])]).code == expected


LIFT_PRE_CHECK = [
    # code, whether the lifter may have an argument to lift in it
    ('df["f10"] = clip_outliers(df["f7"], q=0.95)\n', False),
    ('stats = df.groupby("region").mean()\n', False),
    ("split(X, y, random_state=7)\n", True),
    ('df = pd.read_csv("data/train.csv")\n', True),
    ('df = pd.read_csv("train.CSV")\n', True),
    ('df = pd.read_csv("data\\x2ftrain")\n', True),
]


@pytest.mark.parametrize("code, may_lift", LIFT_PRE_CHECK, ids=[case[0].strip() for case in LIFT_PRE_CHECK])
def test_lift_pre_check(code, may_lift):
    assert may_lift_argument(code) is may_lift


@pytest.mark.parametrize("source", ['df["f10"] = clip(df["f7"], q=0.95)\n', 'df = pd.read_csv("data\\x2ftrain.csv")\n'])
def test_statement_the_pre_check_skips_or_lets_through_lifts_as_a_full_visit_does(tmp_path, source):
    (tmp_path / "data").mkdir()
    path = tmp_path / "source.py"
    path.write_text(source)
    statement = analyse(path).statements[0]
    visited = statement.node.visit(LiftValues(Lifter(tmp_path, set()), statement))
    lifted = Lifter(tmp_path, set()).lift(statement.node, statement)
    assert cst.Module(body=[lifted]).code == cst.Module(body=[visited]).code


PASSES_A_FUNCTION = """\
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer


def double(X):
    return X * 2


def shift(X):
    return X + 1


X, y = load_iris(return_X_y=True)
model = make_pipeline(FunctionTransformer(double), LogisticRegression(max_iter=500))
model.fit(shift(X[::2]), y[::2])
y_pred = model.predict(X[1::2])
"""


def test_a_function_training_passes_as_a_value_moves_to_helpers_one_it_only_calls_stays(tmp_path):
    """Fitted state may hold a function passed to it (pickle finds it by module: in train.py's main() it could not)."""
    path = tmp_path / "source.py"
    path.write_text(PASSES_A_FUNCTION)
    code = rewrite(plan(analyse(path), Options(source=path)))
    assert code.helper_names == ["double"]
