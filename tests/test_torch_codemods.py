"""PyTorch rewrites as before/after statements: the device resolved at run time, model constructor arguments recorded
for the state_dict, and inference under torch.inference_mode()."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
import torch

from nbextract.analyze import analyse
from nbextract.options import Options
from nbextract.rewrite import rewrite
from nbextract.slice import plan

SOURCE = """\
import torch
from torch import nn

{device}
torch.manual_seed(0)
X = torch.randn(16, 4)
y = (X[:, 0] > 0).long()


class Net(nn.Module):
    def __init__(self, n_in, hidden=8):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.fc(x)


{construct}
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X.to(device)), y.to(device))
    loss.backward()
    opt.step()
model.eval()
X_new = torch.randn(5, 4)
X_new_t = X_new.to(device)
{predict}
y_pred = logits.argmax(dim=1)
"""
DEFAULTS = {
    "device": 'device = "cpu"',
    "construct": "model = Net(4).to(device)",
    "predict": "logits = model(X_new_t)",
}


def code_of(tmp_path: Path, **parts: str):
    path = tmp_path / "source.py"
    path.write_text(SOURCE.format(**{**DEFAULTS, **parts}))
    return rewrite(plan(analyse(path), Options(source=path)))


def statements(function_code: str) -> list[str]:
    """The statements of the one function in `function_code`, each as code without its comment lines (code made
    before formatting: black turns its single quotes into double quotes later)."""
    function = cst.parse_module(function_code).body[0]
    body = function.body.body[1:]  # the docstring first
    empty = cst.Module(body=[])
    codes = [textwrap.dedent(empty.code_for_node(node.with_changes(leading_lines=[]))).strip() for node in body]
    return ["\n".join(line for line in code.splitlines() if not line.strip().startswith("#")) for code in codes]


TRAINING_CASES = [
    pytest.param({"device": 'device = "cuda:0"'}, "device = resolve_device(project_settings.device)", id="device-literal"),
    pytest.param(
        {"device": 'device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")'},
        "device = resolve_device(project_settings.device)",
        id="device-idiom",
    ),
    pytest.param({"device": 'device = "cpu"'}, "device = resolve_device(project_settings.device)", id="device-cpu"),
    pytest.param({}, "model = build_module('model', Net, 4).to(device)", id="constructor-recorded"),
    pytest.param(
        {"construct": "model = Net(4, hidden=16)\nmodel.to(device)"},
        "model = build_module('model', Net, 4, hidden=16)",
        id="constructor-keyword-recorded",
    ),
]


@pytest.mark.parametrize(("parts", "after"), TRAINING_CASES)
def test_training_statement(tmp_path, parts, after):
    assert after in statements(code_of(tmp_path, **parts).train_body)


def test_training_keeps_the_loop_and_saves_the_model_after_eval(tmp_path):
    emitted = statements(code_of(tmp_path).train_body)
    loop = next(index for index, text in enumerate(emitted) if text.startswith("for step in range(3):"))
    assert "opt.step()" in emitted[loop]
    assert emitted[loop + 1 :] == ["model.eval()", 'save_artifact(project_settings, "model", model)']


INFER_CASES = [
    pytest.param({}, "with torch.inference_mode():\n    logits = model(X_new_t)", id="wrapped"),
    pytest.param(
        {"predict": "with torch.no_grad():\n    logits = model(X_new_t)"},
        "with torch.no_grad():\n    logits = model(X_new_t)",
        id="source-no-grad-kept",
    ),
]


@pytest.mark.parametrize(("parts", "after"), INFER_CASES)
def test_infer_statements(tmp_path, parts, after):
    infer = code_of(tmp_path, **parts).stages["infer"]
    assert statements(infer.code)[:-1] == [after]
    assert "import torch" in infer.imports


def test_device_reaches_stages_as_a_parameter(tmp_path):
    stages = code_of(tmp_path, device='device = "cuda:0"').stages
    assert [(param.name, param.source) for param in stages["preprocess"].params] == [("X_new", "input"), ("device", "device")]
    assert statements(stages["preprocess"].code)[:-1] == ["X_new_t = X_new.to(device)"]


def test_inference_data_loader_batches_by_the_configured_batch_size(tmp_path):
    predict = (
        "loader = torch.utils.data.DataLoader(X_new_t, batch_size=2)\n"
        "parts = []\n"
        "with torch.no_grad():\n"
        "    for xb in loader:\n"
        "        parts.append(model(xb))\n"
        "logits = torch.cat(parts)"
    )
    stages = code_of(tmp_path, predict=predict).stages
    assert "loader = torch.utils.data.DataLoader(X_new_t, batch_size=batch_size)" in statements(stages["preprocess"].code)
    assert ("batch_size", "config", "batch_size") in [(p.name, p.source, p.key) for p in stages["preprocess"].params]


def test_a_loop_keeping_only_the_last_batch_keeps_the_source_batch_size(tmp_path):
    """`for xb in loader: logits = model(xb)` answers for the last batch only: a new batch size would change it."""
    predict = (
        "loader = torch.utils.data.DataLoader(X_new_t, batch_size=2)\n"
        "with torch.no_grad():\n"
        "    for xb in loader:\n"
        "        logits = model(xb)"
    )
    stages = code_of(tmp_path, predict=predict).stages
    assert "loader = torch.utils.data.DataLoader(X_new_t, batch_size=2)" in statements(stages["preprocess"].code)
    assert "batch_size" not in [p.name for p in stages["preprocess"].params]


CLASS_WITH_DEPENDENCIES = """\
import torch
from torch import nn

DROPOUT = 0.25
WIDTH = 8
UNUSED = 3


def block(n_in, n_out):
    return nn.Sequential(nn.Linear(n_in, n_out), nn.ReLU(), nn.Dropout(DROPOUT))


class Net(nn.Module):
    def __init__(self, n_in):
        super().__init__()
        self.body = block(n_in, WIDTH)
        self.head = nn.Linear(WIDTH, 2)

    def forward(self, x):
        return self.head(self.body(x))


X = torch.randn(32, 4)
y = (X[:, 0] > 0).long()
model = Net(4)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(5):
    opt.zero_grad()
    nn.functional.cross_entropy(model(X), y).backward()
    opt.step()
model.eval()
X_new = torch.randn(6, 4)
pred = model(X_new).argmax(1)
"""


def test_model_class_moves_to_helpers_with_the_functions_and_constants_it_uses(tmp_path):
    path = tmp_path / "source.py"
    path.write_text(CLASS_WITH_DEPENDENCIES)
    code = rewrite(plan(analyse(path), Options(source=path)))
    assert code.helper_names == ["DROPOUT", "Net", "WIDTH", "block"]
    namespace: dict = {}
    exec(compile("\n".join(code.helper_imports) + "\n" + code.helpers, "helpers.py", "exec"), namespace)
    assert namespace["Net"](4)(torch.zeros(1, 4)).shape == (1, 2)  # helpers.py alone builds and runs the model
