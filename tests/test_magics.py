"""IPython magics and shell lines: the Python that replaces them, one decision each, and unchanged line numbers."""

from __future__ import annotations

import pytest

from nbextract.document import Cell, Document
from nbextract.magics import normalise, normalise_cell

# source -> (code after normalising, [(line, magic, action, detail)]); detail None means "not checked here".
CASES = [
    pytest.param(
        "%matplotlib inline\nimport numpy as np\n",
        "\nimport numpy as np\n",
        [(1, "%matplotlib", "dropped", None)],
        id="matplotlib-dropped",
    ),
    pytest.param(
        "%load_ext autoreload\n%autoreload 2\nx = 1",
        "\n\nx = 1\n",
        [(1, "%load_ext", "dropped", None), (2, "%autoreload", "dropped", None)],
        id="autoreload-dropped",
    ),
    pytest.param(
        "import a\n%config InlineBackend.figure_format = 'retina'\n",
        "import a\n\n",
        [(2, "%config", "dropped", None)],
        id="config-dropped",
    ),
    pytest.param(
        "%%time\nx = f(1)\ny = x\n",
        "\nx = f(1)\ny = x\n",
        [(1, "%%time", "unwrapped", None)],
        id="time-cell-body-kept",
    ),
    pytest.param(
        "%%timeit -n 3 -r 1\nx = f(1)",
        "\nx = f(1)",
        [(1, "%%timeit", "unwrapped", None)],
        id="timeit-cell-with-options",
    ),
    pytest.param(
        "%%capture captured\nfit(model)\n",
        "\nfit(model)\n",
        [(1, "%%capture", "unwrapped", None)],
        id="capture-cell-body-kept",
    ),
    pytest.param(
        "%%time\n%matplotlib inline\nx = 1\n",
        "\n\nx = 1\n",
        [(1, "%%time", "unwrapped", None), (2, "%matplotlib", "dropped", None)],
        id="time-cell-containing-line-magic",
    ),
    pytest.param(
        "\n\n%matplotlib inline\nx = 1\n",
        "\n\n\nx = 1\n",
        [(3, "%matplotlib", "dropped", None)],
        id="leading-blank-lines-before-magic",
    ),
    pytest.param(
        "\n\n%%time\nx = f(1)\n",
        "\n\n\nx = f(1)\n",
        [(3, "%%time", "unwrapped", None)],
        id="blank-lines-before-time-cell-magic",
    ),
    pytest.param(
        "\n%%bash\nls\n",
        "\n\n\n",
        [(2, "%%bash", "flagged", None)],
        id="blank-line-before-bash-cell-magic",
    ),
    pytest.param(
        "%%bash\nls -la\necho hi\n",
        "\n\n\n",
        [(1, "%%bash", "flagged", None)],
        id="bash-cell-blanked",
    ),
    pytest.param(
        "%%writefile helper.py\ndef f():\n    return 1",
        "\n\n\n",
        [(1, "%%writefile", "flagged", None)],
        id="writefile-cell-blanked",
    ),
    pytest.param(
        "x = %time f(1)\ny = x",
        "x = f(1)\ny = x\n",
        [(1, "%time", "unwrapped", None)],
        id="time-line-magic-in-assignment",
    ),
    pytest.param(
        "x = 0\n# time the call\n\nx = %time f(x)\ny = x",
        "x = 0\n# time the call\n\nx = f(x)\ny = x\n",
        [(4, "%time", "unwrapped", None)],
        id="time-line-magic-after-comment",
    ),
    pytest.param(
        "%time f(1)\n",
        "f(1)\n",
        [(1, "%time", "unwrapped", None)],
        id="time-line-magic-expression",
    ),
    pytest.param(
        "%time model = fit(X, y)\np = model\n",
        "model = fit(X, y)\np = model\n",
        [(1, "%time", "unwrapped", None)],
        id="time-line-magic-statement",
    ),
    pytest.param(
        "!pip install a==1 b\n%pip install c\n",
        "\n\n",
        [(1, "!pip", "dependency", "a==1 b"), (2, "%pip", "dependency", "c")],
        id="pip-install-dependency",
    ),
    pytest.param(
        "!pip install -q --upgrade scikit-learn>=1.4 -r requirements.txt --index-url https://example.org/simple\n",
        "\n",
        [(1, "!pip", "dependency", "scikit-learn>=1.4")],
        id="pip-install-options-are-not-packages",
    ),
    pytest.param(
        "%conda install -c conda-forge -y lightgbm\n",
        "\n",
        [(1, "%conda", "dependency", "lightgbm")],
        id="conda-channel-is-not-a-package",
    ),
    pytest.param(
        "%pip install \\\n    a b\nz = 1\n",
        "\n\nz = 1\n",
        [(1, "%pip", "dependency", "a b")],
        id="backslash-continued-pip",
    ),
    pytest.param(
        "!pip install a \\\n  b \\\n  c\nx = 1\n!ls\n",
        "\n\n\nx = 1\n\n",
        [(1, "!pip", "dependency", "a b c"), (5, "!ls", "flagged", None)],
        id="backslash-continued-shell-then-more-magics",
    ),
    pytest.param(
        "files = !ls \\\n  data\nn = len(files)\n",
        "\n\nn = len(files)\n",
        [(1, "!ls", "flagged", None)],
        id="backslash-continued-shell-assignment",
    ),
    pytest.param(
        "%env K=V\n",
        "\n",
        [(1, "%env", "config", "K")],
        id="env-config-names-variable",
    ),
    pytest.param(
        "!ls\nfiles = !ls data\n",
        "\n\n",
        [(1, "!ls", "flagged", None), (2, "!ls", "flagged", None)],
        id="shell-flagged",
    ),
    pytest.param(
        "df?\n%who\n",
        "\n\n",
        [(1, "%pinfo", "flagged", None), (2, "%who", "flagged", None)],
        id="help-and-who-flagged",
    ),
    pytest.param(
        's = "%not a magic"\nt = "!not a command"\nu = 10 % 3\n',
        's = "%not a magic"\nt = "!not a command"\nu = 10 % 3\n',
        [],
        id="percent-in-string-untouched",
    ),
    pytest.param(
        's = """\n%not a magic\n!not a command\n"""\n',
        's = """\n%not a magic\n!not a command\n"""\n',
        [],
        id="magic-like-lines-inside-triple-quoted-string-untouched",
    ),
    pytest.param(
        "if x != 1:\n    y = x % 2\n",
        "if x != 1:\n    y = x % 2\n",
        [],
        id="operators-untouched",
    ),
    pytest.param(
        "if x:\n\ty = 1\n    z = 2\n%matplotlib inline\n",
        "if x:\n\ty = 1\n    z = 2\n%matplotlib inline\n",
        [],
        id="inconsistent-indentation-left-for-the-parser",
    ),
    pytest.param(
        's = "a\u2028b"\n%matplotlib inline\nx = 1\n',
        's = "a\u2028b"\n\nx = 1\n',
        [(2, "%matplotlib", "dropped", None)],
        id="line-separator-inside-string-before-magic",
    ),
    pytest.param(
        "# page\x0c\n!ls\nx = 1\n",
        "# page\x0c\n\nx = 1\n",
        [(2, "!ls", "flagged", None)],
        id="form-feed-before-magic",
    ),
    pytest.param(
        "get_ipython().run_line_magic()  # 100%\n",
        "get_ipython().run_line_magic()  # 100%\n",
        [],
        id="hand-written-call-without-arguments",
    ),
]


def decisions_of(code_cell):
    return [(d.line, d.magic, d.action, d.detail) for d in code_cell.decisions]


@pytest.mark.parametrize(("before", "after", "decisions"), CASES)
def test_normalise_cell(before, after, decisions):
    result = normalise_cell(Cell(7, before))
    assert result.code == after
    found = decisions_of(result)
    assert [(line, magic, action) for line, magic, action, _ in found] == [d[:3] for d in decisions]
    for (*_, detail), (*_, expected) in zip(found, decisions):
        if expected is not None:
            assert detail == expected
    assert all(d.cell == 7 for d in result.decisions)


def physical_lines(text: str) -> int:
    """Lines as Python counts them (str.splitlines also splits at \\x0c, \\u2028...)."""
    return text.count("\n") + (bool(text) and not text.endswith("\n"))


@pytest.mark.parametrize(("before", "after", "decisions"), CASES)
def test_line_count_never_changes(before, after, decisions):
    code = normalise_cell(Cell(1, before)).code
    assert physical_lines(code) == physical_lines(before)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("%env API_TOKEN=s3cr3t-v4lue\n", id="equals"),
        pytest.param("%env API_TOKEN s3cr3t-v4lue\n", id="space"),
        pytest.param("%env API_TOKEN='s3cr3t-v4lue'\n", id="quoted"),
        pytest.param("x = 1\n%env API_TOKEN=s3cr3t-v4lue\ny = 2", id="between-statements"),
    ],
)
def test_env_value_never_recorded(source):
    result = normalise_cell(Cell(1, source))
    [decision] = result.decisions
    assert (decision.magic, decision.action, decision.detail) == ("%env", "secret", "API_TOKEN")
    assert "s3cr3t" not in repr(decision)
    assert "s3cr3t" not in result.code


def test_cells_without_magics_are_returned_unchanged():
    source = "import numpy as np\n\n\ndef f(x):\n    return np.sqrt(x)  # not 100% sure\n"
    result = normalise_cell(Cell(1, source))
    assert result.code == source
    assert result.decisions == []


def test_normalise_only_code_cells_and_keeps_cell_numbers():
    document = Document(
        "nb.ipynb",
        "ipynb",
        "0" * 64,
        [
            Cell(1, "# Title", kind="markdown"),
            Cell(2, "%matplotlib inline\nx = 1"),
            Cell(3, "!ls", kind="raw"),
            Cell(4, "!ls"),
        ],
    )
    cells = normalise(document)
    assert [c.cell.number for c in cells] == [2, 4]
    assert [(d.cell, d.line, d.magic) for c in cells for d in c.decisions] == [(2, 1, "%matplotlib"), (4, 1, "!ls")]


def test_magic_decisions_reach_the_graph(graph_of):
    sg = graph_of("%matplotlib inline\nimport numpy as np", "x = %time np.zeros(3)", "!pip install numpy")
    assert [(d.cell, d.line, d.magic, d.action) for d in sg.magics] == [
        (1, 1, "%matplotlib", "dropped"),
        (2, 1, "%time", "unwrapped"),
        (3, 1, "!pip", "dependency"),
    ]
    assert [str(s.origin) for s in sg.statements] == ["cell 1, line 2", "cell 2, line 1"]
    assert sg.statements[1].sources == {"np": 0}


def test_no_warning_for_unusual_line_breaks(recwarn):
    normalise_cell(Cell(1, 's = "a\u2028b"\n%matplotlib inline\n'))
    assert [str(warning.message) for warning in recwarn] == []


def test_more_magics_than_ipython_transforms_do_not_raise(monkeypatch):
    from IPython.core import inputtransformer2

    monkeypatch.setattr(inputtransformer2, "TRANSFORM_LOOP_LIMIT", 3)  # IPython raises RuntimeError past it (500)
    source = "x = 1\n" + "!echo hi\n" * 5
    result = normalise_cell(Cell(1, source))
    assert physical_lines(result.code) == physical_lines(source)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("x = %time 1" + " + 1" * 1000, id="assigned"),
        pytest.param("%time x = 1" + " + 1" * 1000, id="statement"),
    ],
)
def test_deep_timed_body_is_flagged_or_unwrapped_never_raises(source):
    result = normalise_cell(Cell(1, source))
    [decision] = result.decisions
    assert (decision.magic, decision.action) in {("%time", "flagged"), ("%time", "unwrapped")}
    assert len(result.code.splitlines()) == 1
