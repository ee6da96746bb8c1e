"""The Jupyter server extension: POST /nbextract/convert on a real jupyter_server (pytest-jupyter's jp_fetch).

pytest-jupyter's fixtures are imported into this module rather than registered as a plugin: the plugin would give every
test of the suite its autouse event loop. Its server runs on `jp_asyncio_loop`, so the tests drive that loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_jupyter.jupyter_server import *  # noqa: E402,F403 (jp_fetch and the fixtures it needs, for this module)

from nbextract import draw, render  # noqa: E402
from nbextract.analyze import analyse  # noqa: E402
from nbextract.jupyter import jobs, messages  # noqa: E402
from nbextract.scaffold import init_context  # noqa: E402
from nbextract.vocabulary import Step  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notebooks"
NOTEBOOK = "breast_cancer_zscore_threshold.ipynb"
SECRET = "S3cr3tPassw0rd!"  # planted in that sample; it must never reach a reply


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"nbextract": True}}}


@pytest.fixture
def run(jp_asyncio_loop):
    """run(coroutine) -> its result, on the loop the test server runs on."""
    return jp_asyncio_loop.run_until_complete


@pytest.fixture
def root(jp_root_dir: Path) -> Path:
    """The server's root folder, with the sample at the top and in sub/; a notebook and a folder outside it."""
    shutil.copy(SAMPLES / NOTEBOOK, jp_root_dir / NOTEBOOK)
    (jp_root_dir / "sub").mkdir()
    shutil.copy(SAMPLES / NOTEBOOK, jp_root_dir / "sub" / NOTEBOOK)
    (jp_root_dir / "broken.ipynb").write_text("{ this is not a notebook", encoding="utf-8")
    (jp_root_dir / "taken").mkdir()
    (jp_root_dir / "taken" / "keep.txt").write_text("mine", encoding="utf-8")
    (jp_root_dir / "a_file").write_text("not a folder", encoding="utf-8")
    outside = jp_root_dir.parent / "outside"
    outside.mkdir()
    shutil.copy(SAMPLES / NOTEBOOK, outside / NOTEBOOK)
    (jp_root_dir / "link.ipynb").symlink_to(outside / NOTEBOOK)
    (jp_root_dir / "elsewhere").symlink_to(outside, target_is_directory=True)
    return jp_root_dir


def tree(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


async def post(jp_fetch, body, headers=None):
    """(status, reply as JSON) of POST /nbextract/convert with `body` (a dict, or raw bytes)."""
    raw = body if isinstance(body, bytes) else json.dumps(body)
    response = await jp_fetch(
        "nbextract", "convert", method="POST", body=raw, headers=headers, raise_error=False, request_timeout=120
    )
    return response.code, json.loads(response.body)


def assert_one_line_error(reply: dict) -> None:
    assert isinstance(reply["message"], str) and reply["message"]
    assert "\n" not in reply["message"]
    assert "Traceback" not in json.dumps(reply)
    assert not reply.get("traceback")
    assert len(reply["message"]) < 400, "a message the dialog can show"


OUTSIDE_NOTEBOOK = f"../outside/{NOTEBOOK}"

REFUSALS = [
    # (what, body, status, words in the message)
    ("not JSON", b"{", 400, "not JSON"),
    ("not an object", b"[]", 400, "JSON object"),
    ("no path", {"name": "pkg"}, 400, "'path'"),
    ("unknown field", {"path": NOTEBOOK, "kernel": "python3"}, 400, "unknown field 'kernel'"),
    ("execute not a boolean", {"path": NOTEBOOK, "execute": 1}, 400, "'execute' must be true or false"),
    ("force not a boolean", {"path": NOTEBOOK, "force": "yes"}, 400, "'force' must be true or false"),
    ("name not a string", {"path": NOTEBOOK, "name": 3}, 400, "'name' must be a string"),
    (
        "invalid name",
        {"path": NOTEBOOK, "name": "my-package"},
        400,
        "not a valid Python package name; choose another package name",
    ),
    ("keyword name", {"path": NOTEBOOK, "name": "class"}, 400, "not a valid Python package name"),
    ("a folder, not a notebook", {"path": "sub"}, 400, "not a notebook file"),
    ("output holds the notebook", {"path": f"sub/{NOTEBOOK}", "output": "sub", "force": True}, 400, "would hold"),
    ("output is the root", {"path": NOTEBOOK, "output": "", "force": True}, 400, "would hold"),
    ("source above the root", {"path": OUTSIDE_NOTEBOOK}, 403, "outside the server's root folder"),
    ("source symlink leaving the root", {"path": "link.ipynb"}, 403, "outside the server's root folder"),
    ("output above the root", {"path": NOTEBOOK, "output": "../pkg"}, 403, "outside the server's root folder"),
    ("output through a symlinked folder", {"path": NOTEBOOK, "output": "elsewhere/pkg"}, 403, "outside"),
    ("no such notebook", {"path": "missing.ipynb"}, 404, "missing.ipynb: no such notebook"),
    ("output exists", {"path": NOTEBOOK, "output": "taken"}, 409, "taken: output folder exists"),
    (
        "output is a file",
        {"path": NOTEBOOK, "output": "a_file", "force": True},
        409,
        "a_file: exists and is not a folder",
    ),
    ("unreadable notebook", {"path": "broken.ipynb"}, 422, "broken.ipynb"),
    ("path of 5,000 characters", {"path": "a/" * 2500 + NOTEBOOK}, 400, "File name too long"),
    ("path component over 255 characters", {"path": "a" * 300 + ".ipynb"}, 400, "File name too long"),
    ("output component over 255 characters", {"path": NOTEBOOK, "output": "b" * 300}, 400, "File name too long"),
]


@pytest.mark.parametrize("what, body, status, words", REFUSALS, ids=[case[0] for case in REFUSALS])
def test_refused_requests_answer_one_line_and_write_nothing(jp_fetch, run, root, what, body, status, words):
    before = tree(root.parent)
    code, reply = run(post(jp_fetch, body))
    assert (code, words in reply["message"]) == (status, True), reply
    assert_one_line_error(reply)
    assert tree(root.parent) == before
    assert (root / "taken" / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_absolute_path_outside_the_root_is_forbidden(jp_fetch, run, root):
    code, reply = run(post(jp_fetch, {"path": str(root.parent / "outside" / NOTEBOOK)}))
    assert code == 403
    assert_one_line_error(reply)


def test_unauthenticated_request_is_forbidden_and_converts_nothing(jp_fetch, run, root):
    before = tree(root)
    code, reply = run(post(jp_fetch, {"path": NOTEBOOK, "output": "pkg"}, headers={"Authorization": ""}))
    assert code == 403
    assert_one_line_error(reply)
    assert tree(root) == before


def test_conversion_writes_the_package_and_replies_with_its_manifest(jp_fetch, run, root):
    code, reply = run(post(jp_fetch, {"path": NOTEBOOK, "name": "tumour", "output": "packages/tumour"}))
    assert code == 200, reply
    assert (reply["output"], reply["report"]) == ("packages/tumour", "packages/tumour/CONVERSION.md")
    out = root / "packages" / "tumour"
    for generated in ["CONVERSION.md", "pyproject.toml", "config.toml", "src/tumour/__init__.py", "training/train.py"]:
        assert (out / generated).is_file(), generated
    assert reply["manifest"] == json.loads((out / "nbextract.json").read_text(encoding="utf-8"))
    assert reply["manifest"]["package"] == "tumour"
    assert [item["name"] for item in reply["manifest"]["outputs"]] == ["y_pred"]
    assert SECRET not in json.dumps(reply)


def test_defaults_and_force_replace_an_existing_package_beside_the_notebook(jp_fetch, run, root):
    stale = root / "sub" / "breast_cancer_zscore_threshold"
    stale.mkdir()
    (stale / "stale.txt").write_text("old", encoding="utf-8")
    code, reply = run(post(jp_fetch, {"path": f"sub/{NOTEBOOK}", "force": True}))
    assert code == 200, reply
    assert reply["output"] == "sub/breast_cancer_zscore_threshold"
    assert (stale / "src" / "breast_cancer_zscore_threshold" / "pipeline.py").is_file()
    assert not (stale / "stale.txt").exists()


def test_unreadable_notebook_reply_quotes_nothing_of_the_file(jp_fetch, run, root):
    odd_cell = {"id": "odd", "cell_type": "odd", "source": "words of the file", "metadata": {}}
    notebook = {"cells": [odd_cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "odd.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    for path, words in [("broken.ipynb", "this is not a notebook"), ("odd.ipynb", "words of the file")]:
        code, reply = run(post(jp_fetch, {"path": path}))
        assert (code, "not a valid notebook" in reply["message"]) == (422, True), reply
        assert words not in reply["message"]


def set_template_dir(folder: Path, value: str) -> None:
    (folder / "pyproject.toml").write_text(f'[tool.nbextract]\ntemplate-dir = "{value}"\n', encoding="utf-8")


def test_template_reaching_python_internals_is_refused_by_the_sandbox(jp_fetch, run, root):
    (root / "tpl").mkdir()
    (root / "tpl" / "README.md.j2").write_text("{{ cycler.__init__.__globals__.os.getpid() }}\n", encoding="utf-8")
    set_template_dir(root, "tpl")
    code, reply = run(post(jp_fetch, {"path": NOTEBOOK, "output": "pkg"}))
    assert (code, "tpl/README.md.j2, line 1: template refused by the sandbox" in reply["message"]) == (422, True), reply
    assert str(os.getpid()) not in json.dumps(reply)
    assert not (root / "pkg").exists()


TEMPLATE_DIRS_OUTSIDE = [
    # (what, folder of the pyproject.toml, relative to the root; its template-dir)
    ("pyproject.toml above the root", "..", "team"),
    ("pyproject.toml above the root naming a folder inside it", "..", "root_dir/tpl"),
    ("relative path leaving the root", "sub", "../../team"),
    ("symlink leaving the root", ".", "team_link"),
]


@pytest.mark.parametrize("what, where, value", TEMPLATE_DIRS_OUTSIDE, ids=[case[0] for case in TEMPLATE_DIRS_OUTSIDE])
def test_template_folder_outside_the_root_is_refused(jp_fetch, run, root, what, where, value):
    team = root.parent / "team"
    for templates in (team, root / "tpl"):
        templates.mkdir()
        (templates / "README.md.j2").write_text("templates of {{ package }}\n", encoding="utf-8")
    (root / "team_link").symlink_to(team, target_is_directory=True)
    set_template_dir(root / where, value)
    code, reply = run(post(jp_fetch, {"path": f"sub/{NOTEBOOK}", "output": "pkg"}))
    assert (code, "outside the server's root folder" in reply["message"]) == (403, True), reply
    assert "template-dir" in reply["message"]
    assert_one_line_error(reply)
    assert not (root / "pkg").exists()


def swapped_for_link(folder: Path, target: Path) -> None:
    shutil.rmtree(folder)
    folder.symlink_to(target, target_is_directory=True)


SWAPS = [
    # (what, request): sub/ is swapped for a link to a folder outside the root once the request was checked
    ("notebook's folder", {"path": f"sub/{NOTEBOOK}", "output": "pkg"}),
    ("output's folder", {"path": NOTEBOOK, "output": "sub/pkg"}),
]


@pytest.mark.parametrize("what, body", SWAPS, ids=[case[0] for case in SWAPS])
def test_folder_swapped_for_a_link_while_queued_is_refused_when_the_conversion_starts(
    jp_fetch, run, root, monkeypatch, what, body
):
    outside = root.parent / "planted"
    outside.mkdir()
    (outside / NOTEBOOK).write_text("{ words of a file outside the root", encoding="utf-8")
    real = jobs.worker_command

    def swap_then_convert():
        swapped_for_link(root / "sub", outside)
        return real()

    monkeypatch.setattr(jobs, "worker_command", swap_then_convert)
    code, reply = run(post(jp_fetch, body))
    assert (code, "outside the server's root folder" in reply["message"]) == (403, True), reply
    assert "words of a file" not in reply["message"]
    assert tree(outside) == [NOTEBOOK]
    assert not (root / "pkg").exists()


def test_internal_error_reply_and_log_show_no_secret(jp_fetch, run, root, monkeypatch, caplog):
    token = "xoxb-2048123456-4096123456789-AbCdEfGhIjKlMnOpQrStUvWx"

    failing = (
        "import nbextract.convert, nbextract.jupyter.worker as worker\n"
        "def failing(options, progress=None, step=None):\n"
        f"    raise RuntimeError('slack rejected token {token}')\n"
        "nbextract.convert.convert = failing\n"
        "worker.main()\n"
    )
    monkeypatch.setattr(jobs, "worker_command", lambda: [sys.executable, "-c", failing])
    monkeypatch.setenv("NBEXTRACT_DEBUG", "1")
    code, reply = run(post(jp_fetch, {"path": NOTEBOOK}))
    assert (code, "internal error (RuntimeError: slack rejected token" in reply["message"]) == (500, True), reply
    assert_one_line_error(reply)
    assert "Traceback" in caplog.text and "slack rejected token" in caplog.text
    assert token not in json.dumps(reply) and token[-8:] not in caplog.text


def test_template_linked_from_outside_the_root_is_not_read(jp_fetch, run, root):
    (root.parent / "private.txt").write_text("words of a private file\n", encoding="utf-8")
    (root / "tpl").mkdir()
    (root / "tpl" / "README.md.j2").symlink_to(root.parent / "private.txt")
    set_template_dir(root, "tpl")
    code, reply = run(post(jp_fetch, {"path": NOTEBOOK, "output": "pkg"}))
    assert (code, "tpl/README.md.j2" in reply["message"]) == (422, True), reply
    assert "outside its template folder" in reply["message"] and "private" not in reply["message"]
    assert not (root / "pkg").exists()


def test_package_records_paths_relative_to_the_root(jp_fetch, run, root):
    code, reply = run(post(jp_fetch, {"path": f"sub/{NOTEBOOK}", "output": "pkg"}))
    assert code == 200, reply
    assert reply["manifest"]["source"]["path"] == f"sub/{NOTEBOOK}"
    for path in (root / "pkg").rglob("*"):
        if path.is_file() and path.suffix in {".md", ".toml", ".json", ".py", ".cfg", ".txt", ""}:
            assert str(root) not in path.read_text(encoding="utf-8", errors="replace"), path


async def fetch_json(jp_fetch, *parts, method="GET", body=None):
    response = await jp_fetch(
        "nbextract", *parts, method=method, body=None if body is None else json.dumps(body), raise_error=False
    )
    return response.code, json.loads(response.body)


async def until_finished(jp_fetch, job: dict, seen: list[str] | None = None) -> dict:
    """Poll the job until it ends; `seen` collects its progress labels."""
    while job["state"] in ("queued", "running"):
        await asyncio.sleep(0.2)
        code, job = await fetch_json(jp_fetch, "jobs", job["id"])
        assert code == 200, job
        if seen is not None:
            seen.append(job["progress"]["label"])
    return job


def test_job_reports_each_cell_run_with_execute_then_the_result(jp_fetch, run, root):
    async def converted():
        code, job = await fetch_json(
            jp_fetch, "jobs", method="POST", body={"path": NOTEBOOK, "output": "pkg", "execute": True}
        )
        assert (code, job["state"]) == (202, "queued"), job
        seen = []
        return await until_finished(jp_fetch, job, seen), seen

    job, seen = run(converted())
    assert (job["state"], job["status"], job["output"]) == ("done", 200, "pkg"), job
    assert job["manifest"]["executed"]["golden"]
    assert Step.EXECUTE in seen and any(label.startswith("cell ") for label in seen), seen


@pytest.fixture
def big_notebook(root: Path) -> str:
    """A generated notebook of 1,500 cells, which takes several seconds to convert."""
    generator = Path(__file__).resolve().parent.parent / "benchmarks" / "gen_notebook.py"
    subprocess.run([sys.executable, str(generator), "--cells", "1500", str(root / "big.ipynb")], check=True)
    return "big.ipynb"


def test_cancel_stops_the_worker_and_leaves_nothing_written(jp_fetch, run, root, big_notebook):
    before = tree(root.parent)

    async def cancelled():
        body = {"path": big_notebook, "output": "new/deep/pkg"}
        waiting = asyncio.ensure_future(post(jp_fetch, body))
        await asyncio.sleep(0.5)
        job = next(job for job in jobs.JOBS.values() if job.target.out == root / "new" / "deep" / "pkg")
        while job.progress[2] not in set(Step):
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        code, view = await fetch_json(jp_fetch, "jobs", job.id, method="DELETE")
        return code, view, await waiting, job.process.returncode

    code, view, (waited_code, waited), returncode = run(cancelled())
    assert (code, view["state"]) == (200, "cancelled"), view
    assert (waited_code, "cancelled; nothing was written" in waited["message"]) == (409, True), waited
    assert returncode is not None
    assert tree(root.parent) == before


def test_leftovers_of_a_killed_worker_are_removed(tmp_path):
    """A worker killed while writing leaves its staging and run folders, the OUT it set aside, folders it created."""
    out = tmp_path / "made" / "deeper" / "pkg"
    out.parent.mkdir(parents=True)
    for leftover in [".pkg.x1y2.tmp/src", ".pkg.run.a1b2/golden"]:
        (out.parent / leftover).mkdir(parents=True)
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / ".pkg.4242.old").mkdir()
    (tmp_path / "kept" / ".pkg.4242.old" / "mine.txt").write_text("mine", encoding="utf-8")
    jobs.remove_leftovers(out, 4242, created=tmp_path / "made")
    jobs.remove_leftovers(tmp_path / "kept" / "pkg", 4242, created=None)
    assert tree(tmp_path) == ["kept", "kept/pkg", "kept/pkg/mine.txt"]


def test_server_answers_promptly_during_a_long_conversion(jp_fetch, run, root, big_notebook):
    """/api/contents while a 1,500-cell notebook converts in a worker process, not in the server's."""

    async def latencies():
        conversion = asyncio.ensure_future(post(jp_fetch, {"path": big_notebook, "output": "bigpkg"}))
        timings = []
        while not conversion.done():
            started = time.perf_counter()
            assert (await jp_fetch("api", "contents", request_timeout=30)).code == 200
            timings.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        return sorted(timings), await conversion

    timings, (code, reply) = run(latencies())
    assert code == 200, reply
    median, slowest = timings[len(timings) // 2], timings[-1]
    print(f"/api/contents during the conversion: {len(timings)} requests, median {median:.3f} s, max {slowest:.3f} s")
    assert len(timings) > 20
    assert median < 0.1 and slowest < 1.5
    assert all(job.process.pid != os.getpid() for job in jobs.JOBS.values())


def test_check_says_what_the_dialog_shows_under_its_fields(jp_fetch, run, root):
    cases = [
        ({"path": NOTEBOOK, "name": "class"}, {"name": "choose another package name", "output": None, "exists": False}),
        ({"path": NOTEBOOK, "output": "taken"}, {"name": None, "output": "output folder exists", "exists": True}),
        ({"path": NOTEBOOK, "output": "taken", "force": True}, {"name": None, "output": None, "exists": True}),
        (
            {"path": NOTEBOOK, "output": "../pkg"},
            {"name": None, "output": "outside the server's root", "exists": False},
        ),
        ({"path": NOTEBOOK, "output": "fresh"}, {"name": None, "output": None, "exists": False}),
    ]
    for body, expected in cases:
        code, reply = run(fetch_json(jp_fetch, "check", method="POST", body=body))
        assert code == 200, reply
        for field, value in expected.items():
            assert (value in reply[field]) if isinstance(value, str) else reply[field] == value, (body, reply)
    assert run(fetch_json(jp_fetch, "check", method="POST", body={"path": "missing.ipynb"}))[0] == 404


def test_analyze_offers_the_variables_the_source_binds(jp_fetch, run, root):
    code, reply = run(fetch_json(jp_fetch, "analyze", method="POST", body={"path": NOTEBOOK}))
    assert code == 200, reply
    names = {variable["name"]: variable["origin"] for variable in reply["variables"]}
    assert "y_pred" in names and "X_test" in names and names["y_pred"].startswith("cell ")
    assert "np" not in names, "what an import binds is not a variable"
    code, reply = run(fetch_json(jp_fetch, "analyze", method="POST", body={"path": "../outside/" + NOTEBOOK}))
    assert code == 403, reply


def test_variables_are_passed_and_refusals_speak_of_the_dialog_not_of_the_command_line(jp_fetch, run, root):
    code, reply = run(post(jp_fetch, {"path": NOTEBOOK, "output": "pkg", "output_var": "nope"}))
    assert (code, reply["message"]) == (422, f"{NOTEBOOK}: output variable nope: no statement binds this variable")
    assert not (root / "pkg").exists()
    code, reply = run(
        post(jp_fetch, {"path": NOTEBOOK, "output": "pkg", "input_var": "X_test", "output_var": "y_pred"})
    )
    assert code == 200, reply
    assert [item["name"] for item in reply["manifest"]["outputs"]] == ["y_pred"]


def test_ui_wording_keeps_no_command_line_option():
    for cli in [
        "no prediction call found; mark the inference cell with the tag nbextract:infer or pass --output VAR",
        "package name 'a-b' is not a valid Python package name; choose another with --name",
        "output folder exists; pass --force to replace it",
        "--input X: X is an import at cell 1, line 1, not a variable",
    ]:
        assert "--" not in messages.ui_wording(cli), cli


# The report JupyterLab opens: a big source's is short enough to render at once, and its graph is drawn readable.


def chained_source(statements: int, per_cell: int | None, reads: int = 1) -> str:
    """A script of `statements` assignments after an import, each reading `reads` earlier ones (the one before and
    others at random); in percent cells of `per_cell` statements, or a plain script when None."""
    pick = random.Random(0)
    lines = ["import numpy as np", "x0 = np.zeros(3)"]
    for index in range(1, statements):
        earlier = {index - 1, *(pick.randrange(index) for _ in range(reads - 1))}
        lines.append(f"x{index} = " + " + ".join(f"x{number}" for number in sorted(earlier)))
    if per_cell is None:
        return "\n".join(lines) + "\n"
    cells = ["\n".join(lines[start : start + per_cell]) for start in range(0, len(lines), per_cell)]
    return "".join(f"# %%\n{cell}\n\n" for cell in cells)


def drawn(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """The nodes (id -> text) and edges (from, names, to) of a Mermaid flowchart."""
    nodes = dict(re.findall(r'^    (\w+)\["(.*)"\]', text, re.MULTILINE))
    edges = re.findall(r"^    (\w+) -->\|(.*)\| (\w+)$", text, re.MULTILINE)
    return nodes, edges


DRAWINGS = [
    # what, statements, per cell (None: a plain script), earlier statements each reads, drawn whole
    ("a small script: every statement", 40, None, 1, True),
    ("a big script: groups of lines", 1000, None, 1, False),
    ("a big notebook: groups of whole cells", 1000, 7, 1, False),
    ("a dense big notebook: no more than DRAWN_EDGES arrows", 1000, 7, 4, False),
]


@pytest.mark.parametrize("what, count, per_cell, reads, whole", DRAWINGS, ids=[case[0] for case in DRAWINGS])
def test_the_report_draws_a_big_graph_condensed(tmp_path, what, count, per_cell, reads, whole):
    source = tmp_path / "chain.py"
    source.write_text(chained_source(count, per_cell, reads), encoding="utf-8")
    graph = analyse(str(source))
    nodes, edges = drawn(draw.mermaid(graph, {}))
    if whole:
        assert len(nodes) == len(graph.statements) and all(node.startswith("s") for node in nodes)
        return
    assert 1 < len(nodes) <= draw.DRAWN_GROUPS and len(edges) <= draw.DRAWN_EDGES, (len(nodes), len(edges))
    sizes = [int(re.search(r": (\d+) statements?", text).group(1)) for text in nodes.values()]
    assert sum(sizes) == len(graph.statements), "each statement is in one group"
    where = "cells? \\d+(-\\d+)?" if per_cell else "lines \\d+-\\d+"
    assert all(re.match(where + ":", text) for text in nodes.values()), nodes
    assert edges and all("np" not in names.split(", ") for _, names, _ in edges), "an import is not drawn as an arrow"


def report_rows(count: int) -> list[dict]:
    """`count` statements of a report: a third trained, the others dropped for one of three reasons."""
    reasons = ["plot", "notebook display (EDA)", "not needed for the prediction (dead code or exploration)"]
    return [
        {"origin": f"cell {index + 1}, line 1", "label": f"x{index} = f(x{index - 1})", "stage": "train", "reason": "x"}
        if index % 3 == 0
        else {"origin": f"cell {index + 1}, line 1", "label": f"show(x{index})", "stage": "dropped", "reason": reasons[index % 3]}
        for index in range(count)
    ]


def rendered_report(tmp_path: Path, count: int) -> dict[str, str]:
    """CONVERSION.md and STATEMENTS.md of a package whose source had `count` statements ('' for no file)."""
    data = {**init_context("pkg", tmp_path), "statements": report_rows(count)}
    env = render.environment(None)
    return {name: env.get_template(f"{name}.j2").render(**data) for name in ("CONVERSION.md", "STATEMENTS.md")}


@pytest.mark.parametrize("count", [30, 7556])
def test_a_big_report_summarises_its_statements_and_lists_them_in_a_file_of_their_own(tmp_path, count):
    report = rendered_report(tmp_path, count)
    rows = report_rows(count)
    listing = report["STATEMENTS.md"] if count > 300 else report["CONVERSION.md"]
    assert all(f"| {row['origin']} | `{row['label']}` |" in listing for row in rows)
    if count <= 300:
        assert not report["STATEMENTS.md"].strip(), "a small source's report lists its statements itself"
        return
    assert len(report["CONVERSION.md"]) < 5_000, len(report["CONVERSION.md"])
    assert "[STATEMENTS.md](STATEMENTS.md)" in report["CONVERSION.md"]
    dropped = [row for row in rows if row["stage"] == "dropped"]
    for reason in {row["reason"] for row in dropped}:
        first = next(row for row in dropped if row["reason"] == reason)["origin"]
        expected = f"| {reason} | {sum(row['reason'] == reason for row in dropped)} | {first} |"
        assert expected in report["CONVERSION.md"], expected
    assert f"| train | {count - len(dropped)} |" in report["CONVERSION.md"]
