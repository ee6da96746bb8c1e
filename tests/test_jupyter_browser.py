"""JupyterLab in a real browser: Debian's chromium, driven by Playwright, runs "Convert to package".

One JupyterLab is started for the module on a loopback port with a token, from this environment, so it loads the lab
extension and the server extension that `pip install -e '.[test]'` installed; each test opens its own page on it and
saves screenshots (copied to /tmp/nbextract-browser/). Skipped only where /usr/bin/chromium is missing and this is not
CI (.ci/run installs it).
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
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
SAMPLES = Path(__file__).resolve().parent.parent / "sample_notebooks"
NOTEBOOK = "breast_cancer_zscore_threshold.ipynb"
PERCENT_SCRIPT = "fruit_label_encoder_percent.py"
SCREENSHOTS = Path("/tmp/nbextract-browser")  # a copy of each screenshot, to look at after a run
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
        "--LabApp.expose_app_in_browser=True",
        *built_extension(home),
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


def built_extension(home: Path) -> list[str]:
    """The lab extension as built in this tree (`jlpm build` writes nbextract/labextension), ahead of the installed
    copy: the options that make JupyterLab load it."""
    built = Path(__file__).resolve().parent.parent / "nbextract" / "labextension"
    if not (built / "package.json").is_file():
        return []
    (home / "labextensions").mkdir()
    (home / "labextensions" / "nbextract").symlink_to(built, target_is_directory=True)
    return [f"--LabApp.extra_labextensions_path={home / 'labextensions'}"]


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


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@dataclass
class Lab:
    root: Path
    home: Path
    url: str
    token: str
    browser: object


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium_path):
    """JupyterLab serving a root with the sample notebook, a percent script and a 1,500-cell notebook; chromium."""
    root, home = tmp_path_factory.mktemp("root"), tmp_path_factory.mktemp("home")
    shutil.copy(SAMPLES / NOTEBOOK, root / NOTEBOOK)
    shutil.copy(SAMPLES / PERCENT_SCRIPT, root / PERCENT_SCRIPT)
    (root / "data").symlink_to(SAMPLES / "data", target_is_directory=True)
    generator = Path(__file__).resolve().parent.parent / "benchmarks" / "gen_notebook.py"
    subprocess.run([sys.executable, str(generator), "--cells", "1500", str(root / "big.ipynb")], check=True)
    with jupyterlab(root, home) as (url, token), sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(home / "chromium-profile"),
            executable_path=str(chromium_path),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1440, "height": 900},
        )
        browser.set_default_timeout(90_000)
        expect.set_options(timeout=90_000)
        try:
            yield Lab(root, home, url, token, browser)
        finally:
            browser.close()


@contextmanager
def page_of(lab: Lab, name: str, path: str = ""):
    """A page of JupyterLab (opening `path`); screenshots `shot(label)` as NAME-LABEL.png, and one on failure."""
    page = lab.browser.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    SCREENSHOTS.mkdir(exist_ok=True)

    def shot(label: str, target=None) -> None:
        (target or page).screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"))

    page.shot = shot
    try:
        page.goto(f"{lab.url}/lab{'/tree/' + path if path else ''}?token={lab.token}&reset")
        expect(page.locator(".jp-DirListing-item").first).to_be_visible()
        yield page
    except Exception:
        shot("failure")
        print(f"JupyterLab log: {lab.home / 'jupyterlab.log'}", "errors in the page:", *errors, sep="\n")
        raise
    finally:
        page.close()


def notebook_ready(page):
    panel = page.locator(".jp-NotebookPanel").first
    expect(panel.locator(".jp-Cell").first).to_be_visible()
    # Once its kernel is ready the notebook takes the focus back, which would close the palette: wait for it.
    expect(page.locator(".jp-StatusBar-Widget", has_text="| Idle").first).to_be_visible()
    return panel


def run_from_palette(page) -> None:
    """Open the command palette, find "Convert to package" and run it."""
    palette = page.locator("#modal-command-palette")
    page.keyboard.press("Control+Shift+C")
    expect(palette.locator(".lm-CommandPalette-input")).to_be_focused()
    page.keyboard.type("Convert to package")
    palette.locator('.lm-CommandPalette-item[data-command="nbextract:convert"]').click()
    expect(page.locator(".jp-Dialog")).to_be_visible()


def tab(page, text: str):
    return page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=text)


def package_tab(page, package: str, name: str):
    """The tab of a package's file: the package's name is shown before the file's (style/base.css)."""
    return page.locator(f'.lm-DockPanel-tabBar .lm-TabBar-tab[data-nbextract-package="{package}"]', has_text=name)


def button(dialog, label: str):
    return dialog.locator(".jp-Dialog-button", has_text=label)


def test_convert_from_the_palette_checks_as_the_user_types_and_shows_the_results(lab):
    cells_before = len(nbformat.read(lab.root / NOTEBOOK, as_version=4).cells)
    (lab.root / "packages" / "taken").mkdir(parents=True)
    with page_of(lab, "palette", NOTEBOOK) as page:
        panel = notebook_ready(page)
        expect(panel.locator('.jp-Toolbar [data-jp-item-name="nbextract-convert"]')).to_be_visible()
        # An unsaved change (a new empty cell): the command must save it before converting.
        panel.locator(".jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        expect(panel.locator(".jp-Cell.jp-mod-active .cm-content")).to_have_text("")

        run_from_palette(page)
        dialog = page.locator(".jp-Dialog")
        name, output = dialog.locator('input[name="name"]'), dialog.locator('input[name="output"]')
        expect(name).to_have_value("breast_cancer_zscore_threshold")
        expect(output).to_have_value("breast_cancer_zscore_threshold")
        name.fill("my-package")
        expect(dialog.locator(".jp-nbextract-problem").first).to_contain_text("not a valid Python package name")
        expect(button(dialog, "Convert")).to_be_disabled()
        page.shot("invalid-name", dialog)
        name.fill("tumour_screen")
        expect(output).to_have_value("tumour_screen")
        output.fill("packages/taken")
        expect(dialog.locator(".jp-nbextract-problem").nth(1)).to_contain_text("packages/taken: output folder exists")
        expect(button(dialog, "Replace")).to_be_visible()
        expect(button(dialog, "Convert")).to_be_disabled()
        page.shot("folder-exists", dialog)
        output.fill("packages/tumour_screen")
        expect(button(dialog, "Replace")).to_be_hidden()
        expect(button(dialog, "Convert")).to_be_enabled()
        page.shot("dialog", dialog)
        button(dialog, "Convert").click()

        expect(
            page.locator(".jp-Notification-Toast-in-progress, .Toastify__toast", has_text="Converting")
        ).to_be_visible()
        page.shot("progress")
        report_tab = package_tab(page, "tumour_screen", "CONVERSION.md")
        expect(report_tab).to_have_class(re.compile(r"\blm-mod-current\b"))
        expect(package_tab(page, "tumour_screen", "README.md")).to_be_visible()
        report_title = "Conversion report: breast_cancer_zscore_threshold.ipynb -> tumour_screen"
        expect(page.locator(".jp-MarkdownViewer .jp-RenderedMarkdown h1", has_text=report_title)).to_be_visible()
        expect(page.locator(".jp-DirListing-item.jp-mod-selected", has_text="tumour_screen")).to_be_visible()
        expect(page.locator(".Toastify__toast", has_text="converted into packages/tumour_screen")).to_be_visible()
        page.shot("results")
        graph = drawn_graph(page)
        assert graph["nodes"] > 10 and 0.95 < graph["scale"] < 1.05, graph  # its natural size, scrolled
        page.locator(".jp-MarkdownViewer:visible .jp-RenderedMermaid").scroll_into_view_if_needed()
        page.shot("results-graph")

    out = lab.root / "packages" / "tumour_screen"
    assert (out / "src" / "tumour_screen" / "pipeline.py").is_file()
    assert json.loads((out / "nbextract.json").read_text(encoding="utf-8"))["source"]["path"] == NOTEBOOK
    assert len(nbformat.read(lab.root / NOTEBOOK, as_version=4).cells) == cells_before + 1


def test_a_refusal_reopens_the_dialog_with_the_values_the_message_and_replace(lab):
    (lab.root / "again").mkdir()
    (lab.root / "again" / "keep.txt").write_text("mine", encoding="utf-8")
    with page_of(lab, "refusal", NOTEBOOK) as page:
        notebook_ready(page)
        run_from_palette(page)
        dialog = page.locator(".jp-Dialog")
        dialog.locator('input[name="name"]').fill("again")
        dialog.locator("summary", has_text="Input, output and run").click()
        expect(dialog.locator("datalist option[value='y_pred']")).to_have_count(1)
        dialog.locator('input[name="output_var"]').fill("nope")
        page.shot("variables", dialog)
        # Enter converts before the check has answered: the server refuses, and the dialog comes back.
        dialog.locator('input[name="output"]').fill("again")
        dialog.locator('input[name="output"]').press("Enter")
        expect(dialog.locator(".jp-nbextract-error")).to_contain_text("again: output folder exists")
        expect(dialog.locator('input[name="output_var"]')).to_have_value("nope")
        expect(button(dialog, "Replace")).to_be_visible()
        page.shot("reopened", dialog)
        button(dialog, "Replace").click()
        expect(dialog.locator(".jp-nbextract-error")).to_contain_text(
            "output variable nope: no statement binds this variable"
        )
        assert "--" not in dialog.locator(".jp-nbextract-error").inner_text()
        page.shot("unbound-output", dialog)
        dialog.locator('input[name="output_var"]').fill("y_pred")
        button(dialog, "Replace").click()
        expect(package_tab(page, "again", "CONVERSION.md")).to_be_visible()
    assert not (lab.root / "again" / "keep.txt").exists()
    assert (lab.root / "again" / "nbextract.json").is_file()


def names_in(folder):
    """What a folder holds, without the checkpoints Jupyter itself keeps when a notebook opens."""
    return sorted(path.name for path in folder.iterdir() if path.name != ".ipynb_checkpoints")


def drawn_graph(page) -> dict:
    """The report's rendered Mermaid graph (an <img> of its SVG): its nodes, and its scale on screen (1: the SVG's own size,
    Mermaid's 16px text)."""
    return page.locator(".jp-MarkdownViewer:visible .jp-RenderedMermaid img").evaluate(
        """img => {
            const svg = new DOMParser().parseFromString(decodeURIComponent(img.src.split(',')[1]), 'image/svg+xml');
            const width = svg.documentElement.viewBox.baseVal.width;
            return {nodes: svg.querySelectorAll('g.node').length, scale: img.getBoundingClientRect().width / width};
        }"""
    )


def test_cancel_leaves_nothing_written_and_a_big_report_renders_summarised(lab):
    before = names_in(lab.root)
    with page_of(lab, "cancel", "big.ipynb") as page:
        notebook_ready(page)
        run_from_palette(page)
        button(page.locator(".jp-Dialog"), "Convert").click()
        toast = page.locator(".Toastify__toast", has_text=re.compile(r"Converting big\.ipynb: [a-z ]+ \(\d of \d\)"))
        expect(toast).to_be_visible()
        page.shot("progress")
        toast.locator("button", has_text="Cancel").click()  # at once: the whole conversion takes a few seconds
        expect(page.locator(".Toastify__toast", has_text="cancelled; nothing was written")).to_be_visible()
        page.shot("cancelled")
        assert names_in(lab.root) == before

        run_from_palette(page)
        button(page.locator(".jp-Dialog"), "Convert").click()
        expect(package_tab(page, "big", "CONVERSION.md")).to_be_visible(timeout=300_000)
        report = page.locator(".jp-MarkdownViewer:visible .jp-RenderedMarkdown")
        expect(report.locator("a", has_text="STATEMENTS.md")).to_be_visible()
        expect(report.locator("td", has_text="notebook display (EDA)")).to_be_visible()
        expect(report.locator(".jp-RenderedMermaid img")).to_be_visible()
        expect(report.locator("p", has_text="statements drawn as")).to_be_visible()
        graph = drawn_graph(page)
        assert 1 < graph["nodes"] <= 30 and 0.95 < graph["scale"] < 1.05, graph
        page.shot("big-report")
        report.locator(".jp-RenderedMermaid").scroll_into_view_if_needed()
        page.shot("big-report-graph")
    assert (lab.root / "big" / "STATEMENTS.md").stat().st_size > (lab.root / "big" / "CONVERSION.md").stat().st_size


def test_a_percent_script_opened_as_a_notebook_converts(lab):
    with page_of(lab, "percent") as page:
        page.evaluate(
            f"() => {{ jupyterapp.commands.execute('docmanager:open', {{path: '{PERCENT_SCRIPT}', factory: 'Jupytext Notebook'}}); }}"
        )
        panel = notebook_ready(page)
        panel.locator('.jp-Toolbar [data-jp-item-name="nbextract-convert"] button').click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog.locator('input[name="name"]')).to_have_value("fruit_label_encoder_percent")
        button(dialog, "Convert").click()
        expect(package_tab(page, "fruit_label_encoder_percent", "CONVERSION.md")).to_be_visible()
        page.shot("converted")
    manifest = json.loads((lab.root / "fruit_label_encoder_percent" / "nbextract.json").read_text(encoding="utf-8"))
    assert manifest["source"]["kind"] == "percent"


def test_the_command_is_disabled_where_it_cannot_act_and_is_in_the_file_menu(lab):
    with page_of(lab, "states") as page:
        # No notebook open: the palette shows the command disabled.
        page.keyboard.press("Control+Shift+C")
        page.keyboard.type("Convert to package")
        item = page.locator('#modal-command-palette .lm-CommandPalette-item[data-command="nbextract:convert"]')
        expect(item).to_have_class(re.compile(r"\blm-mod-disabled\b"))
        page.shot("palette-disabled")
        page.keyboard.press("Escape")
        # Two notebooks selected in the file browser: disabled, and says why.
        page.locator(f'.jp-DirListing-item[title*="{NOTEBOOK}"]').click()
        page.locator('.jp-DirListing-item[title*="big.ipynb"]').click(modifiers=["Control"])
        page.locator('.jp-DirListing-item[title*="big.ipynb"]').click(button="right")
        entry = page.locator('.lm-Menu-item[data-command="nbextract:convert"]')
        expect(entry).to_contain_text("Convert to package (one file at a time)")
        expect(entry).to_have_class(re.compile(r"\blm-mod-disabled\b"))
        page.shot("several-selected")
        page.keyboard.press("Escape")
        # The file browser offers it for a script too.
        page.locator(f'.jp-DirListing-item[title*="{PERCENT_SCRIPT}"]').click(button="right")
        expect(entry).to_be_visible()
        expect(entry).not_to_have_class(re.compile(r"\blm-mod-disabled\b"))
        page.keyboard.press("Escape")
        # In the File menu, beside "Save and Export Notebook As".
        page.locator(".lm-MenuBar-item", has_text="File").click()
        file_menu = page.locator(".lm-Menu").last
        expect(file_menu.locator('.lm-Menu-item[data-command="nbextract:convert"]')).to_be_visible()
        labels = file_menu.locator(".lm-Menu-itemLabel").all_inner_texts()
        assert (
            abs(labels.index("Convert to package") - labels.index("Save and Export Notebook As")) <= 3
        ), labels  # with a separator between
        page.shot("file-menu")
        page.keyboard.press("Escape")
