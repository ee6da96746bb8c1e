"""Comments left out of the generated package (commented-out code, remarks about the author's machine) and the one
provenance comment per block of statements of one cell."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from nbextract import context, graph, magics, read, render, rewrite, slice
from nbextract.options import Options
from nbextract.rewrite import COMMENTED_CODE, MACHINE_REMARK, WithoutStaleComments, stale_lines

ROOT = Path(__file__).resolve().parents[1]

KEPT = [
    ("remark", ["# id column is useless for modelling"]),
    ("one-word", ["# TODO"]),
    ("number", ["# 42"]),
    ("heading", ["# Step 1: load data"]),
    ("link", ["# see https://scikit-learn.org/stable/"]),
    ("pragma", ["# type: ignore"]),
    ("noqa", ["# noqa: E501"]),
    ("tag", ["# nbextract: train"]),
]


@pytest.mark.parametrize("lines", [case[1] for case in KEPT], ids=[case[0] for case in KEPT])
def test_noop(lines):
    assert stale_lines(lines) == {}


LEFT_OUT = [
    ("one-line", ["# import wandb; wandb.login(key=KEY)"], {0: COMMENTED_CODE}),
    ("call", ["# print(df.head())"], {0: COMMENTED_CODE}),
    ("several-lines", ["# clf = LogisticRegression(", "#     C=1,", "# )"], {0: COMMENTED_CODE, 1: COMMENTED_CODE, 2: COMMENTED_CODE}),
    ("introduced", ["# old version with C=1:", "# clf = LogisticRegression(C=1)"], {0: COMMENTED_CODE, 1: COMMENTED_CODE}),
    ("remark-then-code", ["# the scaler matters", "# X = scale(X)"], {1: COMMENTED_CODE}),
    ("laptop", ["# no GPU on this laptop"], {0: MACHINE_REMARK}),
    ("my-machine", ["# takes 2 min on my machine"], {0: MACHINE_REMARK}),
]


@pytest.mark.parametrize("lines, expected", [case[1:] for case in LEFT_OUT], ids=[case[0] for case in LEFT_OUT])
def test_fix(lines, expected):
    assert stale_lines(lines) == expected


def test_comments_inside_a_statement_are_left_out_too():
    source = (
        "# model = old()\n"
        "model = Pipeline(\n"
        "    [\n"
        "        # ('pca', PCA()),\n"
        "        ('clf', clf),  # clf = LogisticRegression()\n"
        "    ]\n"
        ")  # fast on my laptop\n"
    )
    comments = WithoutStaleComments()
    emitted = cst.parse_module(source).visit(comments).code
    assert emitted == "model = Pipeline(\n    [\n        ('clf', clf),\n    ]\n)\n"
    assert sorted(reason for _, reason in comments.removed) == sorted([COMMENTED_CODE] * 3 + [MACHINE_REMARK])


def churn_context() -> dict:
    """The rendering context of the churn sample, which has one line of code commented out."""
    source = ROOT / "sample_notebooks" / "churn_column_transformer.ipynb"
    options = Options(source=source, output=source.parent / "unused")
    document = read.read(source)
    planned = slice.plan(graph.build(document, magics.normalise(document)), options)
    return context.build(planned, rewrite.rewrite(planned), options)


def test_what_was_left_out_is_in_the_template_context_with_its_origin_and_no_secret():
    data = churn_context()
    (entry,) = data["left_out"]
    assert (entry["origin"], entry["reason"]) == ("cell 8, line 1", COMMENTED_CODE)
    assert entry["comment"] == "# import wandb; wandb.login(key=WANDB_API_KEY); wandb.init(project=WANDB_PROJECT)"
    assert "left_out" not in data["manifest"] and [metric["name"] for metric in data["metrics"]] == ["accuracy_score", "roc_auc_score"]


def test_conversion_md_lists_what_was_left_out():
    report = render.render(churn_context())["CONVERSION.md"]
    section = report[report.index("## Left out of the package") : report.index("## Magics")]
    assert (
        "| cell 8, line 1 | `# import wandb; wandb.login(key=WANDB_API_KEY); wandb.init(project=WANDB_PROJECT)` | "
        f"{COMMENTED_CODE} |"
    ) in section
