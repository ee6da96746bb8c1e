"""JupyterLab in a real browser: Debian's chromium, driven by Playwright, runs "Convert to package" on a sample.

JupyterLab is started on a loopback port with a token, from this environment, so it loads the lab extension and the
server extension that `pip install -e '.[test]'` installed. Skipped only where /usr/bin/chromium is missing and this is
not CI (.ci/run installs it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
SAMPLES = Path(__file__).resolve().parent.parent / "sample_notebooks"
NOTEBOOK = "breast_cancer_zscore_threshold.ipynb"
SCREENSHOT_COPY, DIALOG_COPY = Path("/tmp/nbextract-browser.png"), Path("/tmp/nbextract-browser-dialog.png")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# No news or update checks: the machine has no network beyond loopback, and a toast would cover the page.
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, home: Path):
    """A JupyterLab server on 127.0.0.1 serving `root`; yields its URL and token; stopped (with its kernels) after."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    for plugin, values in LAB_SETTINGS.items():
        settings = home / "config" / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
        settings.parent.mkdir(parents=True)
        settings.write_text(json.dumps(values), encoding="utf-8")
    log = (home / "jupyterlab.log").open("w", encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.allow_root=True",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, f"{url}/api/status?token={token}", home / "jupyterlab.log")
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def wait_until_serving(server: subprocess.Popen, status_url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log.read_text(encoding='utf-8')[-3000:]}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within 90 s:\n{log.read_text(encoding='utf-8')[-3000:]}")


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


def test_convert_to_package_from_the_command_palette(tmp_path, chromium_path):
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    shutil.copy(SAMPLES / NOTEBOOK, root / NOTEBOOK)
    cells_before = len(nbformat.read(root / NOTEBOOK, as_version=4).cells)
    screenshot, dialog_screenshot = tmp_path / "jupyterlab-convert-to-package.png", tmp_path / "dialog.png"

    with jupyterlab(root, home) as (url, token), sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(home / "chromium-profile"),
            executable_path=str(chromium_path),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1440, "height": 900},
        )
        browser.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        page = browser.new_page()
        try:
            page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
            panel = page.locator(".jp-NotebookPanel").first
            expect(panel).to_be_visible()
            expect(panel.locator('.jp-Toolbar [data-jp-item-name="nbextract-convert"]')).to_be_visible()
            expect(panel.locator(".jp-Cell").first).to_be_visible()
            # Once its kernel is ready the notebook takes the focus back, which would close the palette: wait for it.
            expect(page.locator(".jp-StatusBar-Widget", has_text="| Idle").first).to_be_visible()

            # An unsaved change (a new empty cell): the command must save it before converting.
            panel.locator(".jp-Cell").first.click()
            page.keyboard.press("Escape")
            page.keyboard.press("b")
            new_cell = panel.locator(".jp-Cell.jp-mod-active")
            expect(new_cell).to_be_focused()
            expect(new_cell.locator(".cm-content")).to_have_text("")

            run_from_palette(page)
            dialog = page.locator(".jp-Dialog")
            expect(dialog.locator('input[name="name"]')).to_have_value("breast_cancer_zscore_threshold")
            expect(dialog.locator('input[name="output"]')).to_have_value("breast_cancer_zscore_threshold")
            dialog.locator('input[name="name"]').fill("tumour_screen")
            expect(dialog.locator('input[name="output"]')).to_have_value("tumour_screen")
            dialog.locator('input[name="output"]').fill("packages/tumour_screen")
            dialog.screenshot(path=str(dialog_screenshot))
            dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

            report_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="CONVERSION.md")
            expect(report_tab).to_be_visible()
            expect(report_tab).to_have_class(re.compile(r"\blm-mod-current\b"))
            expect(page.locator(".jp-MarkdownViewer .jp-RenderedMarkdown h1").first).to_contain_text(
                "Conversion report: breast_cancer_zscore_threshold.ipynb -> tumour_screen"
            )
            expect(page.locator(".jp-DirListing-item", has_text="packages")).to_be_visible()
            page.screenshot(path=str(screenshot))

            out = root / "packages" / "tumour_screen"
            assert (out / "src" / "tumour_screen" / "pipeline.py").is_file()
            assert json.loads((out / "nbextract.json").read_text(encoding="utf-8"))["package"] == "tumour_screen"
            assert len(nbformat.read(root / NOTEBOOK, as_version=4).cells) == cells_before + 1

            # The same output again, without "replace": the server's message is shown, nothing is touched.
            page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=NOTEBOOK).click()
            expect(new_cell).to_be_focused()
            run_from_palette(page)
            dialog.locator('input[name="output"]').fill("packages/tumour_screen")
            dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
            expect(page.locator(".jp-Dialog-content")).to_contain_text("packages/tumour_screen: output folder exists")
            page.locator(".jp-Dialog-button", has_text="Close").click()

            # The file browser's context menu of a notebook offers the command too.
            page.locator(f'.jp-DirListing-item[data-file-type="notebook"][title*="{NOTEBOOK}"]').click(button="right")
            expect(page.locator('.lm-Menu-item[data-command="nbextract:convert"]')).to_contain_text(
                "Convert to package"
            )
            page.keyboard.press("Escape")
        except Exception:
            page.screenshot(path=str(screenshot))
            print(f"JupyterLab log: {home / 'jupyterlab.log'}")
            raise
        finally:
            for taken, copy in [(screenshot, SCREENSHOT_COPY), (dialog_screenshot, DIALOG_COPY)]:
                if taken.exists():
                    shutil.copy(taken, copy)
                    print(f"screenshot: {taken} (copy: {copy})")
            browser.close()


def run_from_palette(page) -> None:
    """Open the command palette, find "Convert to package" and run it."""
    palette = page.locator("#modal-command-palette")
    page.keyboard.press("Control+Shift+C")
    expect(palette.locator(".lm-CommandPalette-input")).to_be_focused()
    page.keyboard.type("Convert to package")
    palette.locator('.lm-CommandPalette-item[data-command="nbextract:convert"]').click()
    expect(page.locator(".jp-Dialog")).to_be_visible()
