"""Rewrite kinds as before/after source strings: secrets to the environment, values to config, provenance."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from nbextract.analyze import analyse
from nbextract.lift import Lifter, LiftValues, may_lift_argument
from nbextract.options import Options
from nbextract.rewrite import NotedMetrics, provenance, rewrite, sets_environment, with_origins
from nbextract.slice import plan


def rewritten(tmp_path: Path, source: str, lift: bool = True) -> tuple[str, Lifter]:
    """Each statement as the training script would emit it, without the provenance comments."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "train.csv").write_text("a\n1\n")
    path = tmp_path / "source.py"
    path.write_text(source)
    graph = analyse(path)
    lifter = Lifter(tmp_path, set(), graph, frozenset(range(len(graph.statements))))
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
    ("lift-folder-argument", 'p = pipeline("text-classification", model="data")\n', 'p = pipeline("text-classification", model=project_settings.data)\n'),
    ("keep-dataset-name", 'from sklearn.datasets import load_sample_image\nimg = load_sample_image("train.csv")\n', 'from sklearn.datasets import load_sample_image\nimg = load_sample_image("train.csv")\n'),
    ("lift-dataset-files-keyword", 'import datasets\nds = datasets.load_dataset("csv", data_files="data/train.csv")\n', 'import datasets\nds = datasets.load_dataset("csv", data_files=project_settings.train_csv)\n'),
]


@pytest.mark.parametrize("source, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_rewrite(tmp_path, source, expected):
    code, _ = rewritten(tmp_path, source)
    assert code == expected


def test_lifted_values_remember_origin_and_share_a_key_for_one_value(tmp_path):
    _, lifter = rewritten(tmp_path, "a = f(random_state=3)\nb = g(random_state=3)\nc = h(random_state=4)\n")
    lifted = sorted((value.key, value.value, value.origin) for value in lifter.values.values())
    assert lifted == [("h_random_state", 4, "line 3"), ("random_state", 3, "line 1")]


def test_a_keyword_taken_by_another_value_is_named_after_its_call(tmp_path):
    code, _ = rewritten(tmp_path, "m = RandomForestClassifier(random_state=0)\ns = train_test_split(X, random_state=42)\n")
    assert "RandomForestClassifier(random_state=project_settings.random_state)" in code
    assert "train_test_split(X, random_state=project_settings.train_test_split_random_state)" in code


def test_a_file_training_writes_then_reads_has_two_keys_so_real_data_is_never_overwritten(tmp_path):
    """`raw.to_csv(p)` then `pd.read_csv(p)`: pointing the read at real data leaves the stand-in written elsewhere."""
    source = 'raw.to_csv("data/train.csv")\ndf = pd.read_csv("data/train.csv")\nother = pd.read_csv("data/train.csv")\n'
    code, lifter = rewritten(tmp_path, source)
    assert code.splitlines() == [
        "raw.to_csv(project_settings.train_csv)",
        "df = pd.read_csv(project_settings.train_csv_2)",
        "other = pd.read_csv(project_settings.train_csv_2)",
    ]
    uses = {value.key: value.use for value in lifter.values.values()}
    assert uses == {"train_csv": "writes", "train_csv_2": "reads what training writes at line 1"}


def test_a_path_assignment_takes_the_use_of_the_statements_reading_it(tmp_path):
    _, lifter = rewritten(tmp_path, 'DATA = "data/train.csv"\ndf = pd.read_csv(DATA)\nOUT = "data/out.csv"\ndf.to_csv(OUT)\n')
    assert {value.key: value.use for value in lifter.values.values()} == {"data": "reads", "out": "writes"}


def test_provenance_comment_names_cell_and_lines_of_a_block(tmp_path):
    path = tmp_path / "source.py"
    path.write_text("x = 1\n\n\ny = x + 1\n")
    statements = analyse(path).statements
    nodes = with_origins([(provenance(statement.node, statement), statement) for statement in statements])
    assert cst.Module(body=nodes).code == "# lines 1-4\nx = 1\ny = x + 1\n"


def test_a_secret_in_code_commented_out_above_a_statement_is_not_copied(tmp_path):
    path = tmp_path / "source.py"
    path.write_text("x = 1\n# API_KEY = 'sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD'\ny = x + 1\n")
    statement = analyse(path).statements[1]
    left_out: list[dict] = []
    emitted = cst.Module(body=[provenance(statement.node, statement, left_out=left_out)]).code
    assert emitted == "y = x + 1\n"
    assert left_out == [{"origin": "line 3", "comment": "# API_KEY = '<secret: API_KEY>'", "reason": "commented-out code"}]


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


READS_A_SECRET = """\
import numpy as np
from sklearn.linear_model import LogisticRegression

TOKEN = "ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG"
HEADERS = {"Authorization": f"token {TOKEN}"}


def scale(X, TOKEN=None):
    return X / len(TOKEN or "ab")


def signed(rows):
    return [f"{TOKEN[:0]}{len(HEADERS)}{row}" for row in rows]


X = np.arange(40.0).reshape(20, 2)
clf = LogisticRegression(C=len(TOKEN) / 40).fit(scale(X), np.array([0, 1] * 10))
pred = clf.predict(scale(X[:5], TOKEN))
labels = signed(pred)
"""


def test_a_secret_constant_of_the_helpers_is_a_function_called_where_it_is_read(tmp_path):
    """Issue 16: `TOKEN = secret("TOKEN")` at the top of helpers.py made importing the package ask for the secret. A
    constant made from it is read when needed too."""
    path = tmp_path / "source.py"
    path.write_text(READS_A_SECRET)
    code = rewrite(plan(analyse(path), Options(source=path, input_var="X", output_var="labels")))
    assert 'def TOKEN():\n    """TOKEN of the source, read when it is needed."""\n    return secret("TOKEN")\n' in code.helpers
    assert 'return X / len(TOKEN or "ab")' in code.helpers, "a parameter of the same name is left alone"
    assert 'def HEADERS():\n    """HEADERS of the source, read when it is needed."""\n    return {"Authorization": f"token {TOKEN()}"}\n' in code.helpers
    assert 'return [f"{TOKEN()[:0]}{len(HEADERS())}{row}" for row in rows]' in code.helpers
    assert "pred = clf.predict(scale(X[:5], TOKEN()))" in code.stages["infer"].code
    assert "LogisticRegression(C=len(TOKEN()) / 40)" in code.train_body


@pytest.mark.parametrize("value, is_path", [("data", True), ("tiny-model", False), ("data labels", False)])
def test_a_constant_naming_a_folder_beside_the_source_is_a_path_without_slash_or_suffix(tmp_path, value, is_path):
    """`MODEL_DIR = "data"` names the folder beside the source, so it resolves against the project and travels with
    it; a name that is no file or folder there stays a plain value."""
    _, lifter = rewritten(tmp_path, f'MODEL_DIR = "{value}"\n')
    (lifted,) = lifter.values.values()
    assert (lifted.path, lifted.use) == ((True, "reads") if is_path else (False, ""))


@pytest.mark.parametrize(
    "code, expected",
    [
        ("print(accuracy_score(y, p))\n", "print(noted(project_metrics, \"accuracy_score\", accuracy_score(y, p)))\n"),
        ('print(f"{accuracy_score(y, p):.2%}")\n', "print(f\"{noted(project_metrics, 'accuracy_score', accuracy_score(y, p)):.2%}\")\n"),
        ("print(f'''{accuracy_score(y, p)}''')\n", "print(f'''{noted(project_metrics, \"accuracy_score\", accuracy_score(y, p))}''')\n"),
        ("print(f\"{f'{accuracy_score(y, p)}'}\")\n", "print(f\"{f'{accuracy_score(y, p)}'}\")\n"),
    ],
    ids=["call", "in-double-quoted-f-string", "in-triple-single-quoted", "both-quotes-taken-left-as-is"],
)
def test_a_metric_is_noted_with_a_quote_its_f_string_leaves_free(code, expected):
    noted = cst.parse_module(code).visit(NotedMetrics({"accuracy_score": "accuracy_score"})).code
    assert noted == expected
    compile(noted, "train.py", "exec")
