"""The Jupyter server extension: POST /nbextract/convert on a real jupyter_server (pytest-jupyter's jp_fetch).

pytest-jupyter's fixtures are imported into this module rather than registered as a plugin: the plugin would give every
test of the suite its autouse event loop. Its server runs on `jp_asyncio_loop`, so the tests drive that loop.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path

import pytest

from pytest_jupyter.jupyter_server import *  # noqa: E402,F403 (jp_fetch and the fixtures it needs, for this module)

from nbextract.jupyter import handlers  # noqa: E402

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


OUTSIDE_NOTEBOOK = f"../outside/{NOTEBOOK}"

REFUSALS = [
    # (what, body, status, words in the message)
    ("not JSON", b"{", 400, "not JSON"),
    ("not an object", b"[]", 400, "JSON object"),
    ("no path", {"name": "pkg"}, 400, "'path'"),
    ("unknown field", {"path": NOTEBOOK, "execute": True}, 400, "unknown field 'execute'"),
    ("force not a boolean", {"path": NOTEBOOK, "force": "yes"}, 400, "'force' must be true or false"),
    ("name not a string", {"path": NOTEBOOK, "name": 3}, 400, "'name' must be a string"),
    ("invalid name", {"path": NOTEBOOK, "name": "my-package"}, 400, "not a valid Python package name"),
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


def test_server_answers_other_requests_while_a_conversion_runs(jp_fetch, run, root, monkeypatch):
    """The conversion is held in its worker thread until the server has answered another request."""
    started, release, threads = threading.Event(), threading.Event(), []
    real = handlers.run_conversion

    def held(target):
        threads.append(threading.current_thread())
        started.set()
        assert release.wait(30), "the server never answered while the conversion was held"
        return real(target)

    monkeypatch.setattr(handlers, "run_conversion", held)

    async def meanwhile():
        conversion = asyncio.ensure_future(post(jp_fetch, {"path": NOTEBOOK, "output": "pkg"}))
        while not started.is_set():
            await asyncio.sleep(0.01)
        answers = [await jp_fetch("api", "status", request_timeout=10), await jp_fetch("api", "contents")]
        still_running = not conversion.done()
        release.set()
        return [answer.code for answer in answers], still_running, await conversion

    codes, still_running, (code, reply) = run(meanwhile())
    assert (codes, still_running, code) == ([200, 200], True, 200), reply
    assert threads[0] is not threading.main_thread()
    assert (root / "pkg" / "CONVERSION.md").is_file()
