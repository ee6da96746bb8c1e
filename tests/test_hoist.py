"""graph.hoist: predictions nested in another statement, and the literals predictions are given, become statements of
their own; before/after source strings, and sources left as they are."""

from __future__ import annotations

import libcst as cst
import pytest

from nbextract.execute import probe_code
from nbextract.graph.hoist import TakenNames, hoisted

FIXES = {
    "in-a-metric": ("mse = mean_squared_error(y_test, reg.predict(X_test))\n", "y_pred = reg.predict(X_test)\nmse = mean_squared_error(y_test, y_pred)\n"),
    "in-print": ("print(clf.predict_proba(X))\n", "y_pred = clf.predict_proba(X)\nprint(y_pred)\n"),
    "in-a-dict": ('scores = {"ridge": ridge.predict(X)}\n', 'y_pred = ridge.predict(X)\nscores = {"ridge": y_pred}\n'),
    "literal-input": ("model.predict([[5000]])\n", "X_new = [[5000]]\nmodel.predict(X_new)\n"),
    "literal-texts": ('labels = pipe.predict(["a good film", "dull"])\n', 'X_new = ["a good film", "dull"]\nlabels = pipe.predict(X_new)\n'),
    "literal-in-a-metric": ("print(r2(y, m.predict([[1.5, -2]])))\n", "X_new = [[1.5, -2]]\ny_pred = m.predict(X_new)\nprint(r2(y, y_pred))\n"),
    "name-taken": ("y_pred = 1\nprint(m.predict(X))\n", "y_pred = 1\ny_pred_2 = m.predict(X)\nprint(y_pred_2)\n"),
}

NOOPS = {
    "already-a-statement": "y_pred = clf.predict(X_test)\n",
    "used-at-once-by-a-method": "y = m.predict(X).round()\n",
    "indexed-at-once": "p = m.predict_proba(X)[:, 1]\n",
    "in-a-comprehension": "preds = [m.predict(X) for m in models]\n",
    "in-a-lambda": "f = lambda X: m.predict(X)\n",
    "conditional": "y = m.predict(X) if ready else None\n",
    "literal-with-a-name": "m.predict([[a, 2]])\n",
    "not-a-prediction": "print(df.describe())\n",
    "inside-a-loop": "for m in models:\n    print(m.predict(X))\n",
}


def split(source: str) -> str:
    module = cst.parse_module(source)
    taken = TakenNames([source])
    return cst.Module(body=[part for node in module.body for part in hoisted(node, taken)]).code


@pytest.mark.parametrize("source, expected", FIXES.values(), ids=FIXES.keys())
def test_fix(source, expected):
    assert split(source) == expected


@pytest.mark.parametrize("source", NOOPS.values(), ids=NOOPS.keys())
def test_noop(source):
    assert split(source) == source


def test_execute_runs_a_hoisted_statement_before_probing_what_it_binds(graph_of):
    """The source never ran `y_pred = clf.predict(X)` as such (it printed the metric of it): --execute's probe binds it
    first, on the same line, so the run captures the value instead of failing with a NameError."""
    statements = graph_of("print(accuracy_score(y, clf.predict(X)))").statements
    hoisted, original = statements
    assert probe_code(hoisted, "output", "y_pred") == "y_pred = clf.predict(X); _nbx_probe('output', 'y_pred', y_pred)"
    assert probe_code(original, "output", "y_pred") == "_nbx_probe('output', 'y_pred', y_pred)"


@pytest.mark.parametrize(
    "pieces, taken",
    [
        pytest.param(["x = 1\n", "y_pred = 2\n"], True, id="bound-in-a-later-statement"),
        pytest.param(["for y_pred in ys:\n    pass\n"], True, id="bound-in-a-block"),
        pytest.param(["x = 1\n", "# y_pred here\ns = 'y_pred'\n"], False, id="only-in-a-comment-and-a-string"),
        pytest.param(["y_predicted = 1\n"], False, id="a-longer-name"),
    ],
)
def test_taken_names_are_name_tokens_of_any_piece(pieces, taken):
    assert ("y_pred" in TakenNames(pieces)) is taken
