"""Readers: notebooks, percent and sphinx-gallery scripts, plain scripts; and the errors of unreadable input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import nbformat.v3
import pytest

import nbextract.read as reader
from nbextract import graph, magics
from nbextract.analyze import analyse
from nbextract.errors import NbextractError, ReadError
from nbextract.read import read


def cells_of(document):
    return [(cell.number, cell.kind, cell.source, cell.tags) for cell in document.cells]


def statements_of(document):
    """(origin, code) of every statement of a document, through the real pipeline."""
    built = graph.build(document, magics.normalise(document))
    return [(str(s.origin), s.code.strip()) for s in built.statements]


# ---------------------------------------------------------------------------------------------------------- ipynb


def test_ipynb_cells_numbers_tags_and_kinds(make_notebook):
    path = make_notebook(
        [
            ("# Title", (), "markdown"),
            ("import numpy as np", ("imports",)),
            ("raw text", (), "raw"),
            ("x = np.zeros(3)", ("nbextract:preprocess", "other")),
        ]
    )
    document = read(path)
    assert document.kind == "ipynb"
    assert document.path == str(path)
    assert len(document.sha256) == 64
    assert cells_of(document) == [
        (1, "markdown", "# Title", ()),
        (2, "code", "import numpy as np", ("imports",)),
        (3, "raw", "raw text", ()),
        (4, "code", "x = np.zeros(3)", ("nbextract:preprocess", "other")),
    ]
    assert [cell.number for cell in document.code_cells] == [2, 4]
    assert document.cells[3].stage_tag == "preprocess"
    assert all(cell.cell_id for cell in document.cells)


def test_ipynb_outputs_are_ignored(tmp_path):
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("y = 2")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="leaked = 1\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "z = 3"}, execution_count=1),
    ]
    notebook.cells.append(cell)
    path = tmp_path / "out.ipynb"
    nbformat.write(notebook, str(path))
    document = read(path)
    assert cells_of(document) == [(1, "code", "y = 2", ())]
    assert statements_of(document) == [("cell 1, line 1", "y = 2")]


def test_ipynb_nbformat_3_is_upgraded(tmp_path):
    v3 = nbformat.v3
    notebook = v3.new_notebook(
        worksheets=[
            v3.new_worksheet(
                cells=[
                    v3.new_text_cell("markdown", source="# Title"),
                    v3.new_code_cell(input="x = 1", outputs=[v3.new_output("stream", output_text="1")]),
                    v3.new_heading_cell("Section", level=2),
                    v3.new_code_cell(input="y = x", metadata={"tags": ["nbextract:infer"]}),
                ]
            )
        ]
    )
    path = tmp_path / "old.ipynb"
    path.write_text(v3.writes_json(notebook))
    assert json.loads(path.read_text())["nbformat"] == 3
    document = read(path)
    assert cells_of(document) == [
        (1, "markdown", "# Title", ()),
        (2, "code", "x = 1", ()),
        (3, "markdown", "## Section", ()),
        (4, "code", "y = x", ("nbextract:infer",)),
    ]
    assert statements_of(document) == [("cell 2, line 1", "x = 1"), ("cell 4, line 1", "y = x")]


@pytest.mark.parametrize(
    ("source", "tags"),
    [
        pytest.param("# nbextract: infer\ny = model.predict(X)", ("nbextract:infer",), id="first-line"),
        pytest.param("#nbextract:train\nfit()", ("nbextract:train",), id="no-spaces"),
        pytest.param("\n\n# nbextract: postprocess  \nout = y", ("nbextract:postprocess",), id="after-blank-lines"),
        pytest.param("x = 1\n# nbextract: infer", (), id="not-first-line"),
        pytest.param("# nbextract: banana\nx = 1", (), id="unknown-stage"),
        pytest.param("# nbextract: infer later\nx = 1", (), id="trailing-words"),
        pytest.param("# see nbextract: infer\nx = 1", (), id="not-at-start"),
    ],
)
def test_stage_marker_comment_in_notebook_cell(make_notebook, source, tags):
    document = read(make_notebook([source]))
    assert document.cells[0].tags == tags


def test_stage_marker_adds_to_existing_tags_and_ignores_markdown(make_notebook):
    document = read(make_notebook([("# nbextract: infer\ny = 1", ("keep",)), ("# nbextract: infer", (), "markdown")]))
    assert [cell.tags for cell in document.cells] == [("keep", "nbextract:infer"), ()]


# -------------------------------------------------------------------------------------------------------- percent

PERCENT = """\
# %%
import numpy as np

#%%
x = np.zeros(3)

# %% [markdown]
# Some *text*

# %% tags=["nbextract:train"]
model = fit(x)

# %% Named cell
# nbextract: infer
y = model.predict(x)
"""


def test_percent_cells(tmp_path):
    path = tmp_path / "analysis.py"
    path.write_text(PERCENT)
    document = read(path)
    assert document.kind == "percent"
    assert cells_of(document) == [
        (1, "code", "import numpy as np", ()),
        (2, "code", "x = np.zeros(3)", ()),
        (3, "markdown", "Some *text*", ()),
        (4, "code", "model = fit(x)", ("nbextract:train",)),
        (5, "code", "# nbextract: infer\ny = model.predict(x)", ("nbextract:infer",)),
    ]
    assert [s.tag for s in graph.build(document, magics.normalise(document)).statements] == [
        None,
        None,
        "train",
        "infer",
    ]


@pytest.mark.parametrize(
    "marker",
    [pytest.param("# %%", id="spaced"), pytest.param("#%%", id="compact"), pytest.param("# %% [code]", id="typed")],
)
def test_percent_markers(tmp_path, marker):
    path = tmp_path / "p.py"
    path.write_text(f"{marker}\na = 1\n{marker}\nb = a\n")
    document = read(path)
    assert document.kind == "percent"
    assert cells_of(document) == [(1, "code", "a = 1", ()), (2, "code", "b = a", ())]


def test_percent_magics_are_commented_and_still_seen(tmp_path):
    path = tmp_path / "p.py"
    path.write_text("# %%\n# %matplotlib inline\nimport numpy as np\n")
    document = read(path)
    assert cells_of(document) == [(1, "code", "%matplotlib inline\nimport numpy as np", ())]
    built = graph.build(document, magics.normalise(document))
    assert [(d.magic, d.action) for d in built.magics] == [("%matplotlib", "dropped")]
    assert [str(s.origin) for s in built.statements] == ["cell 1, line 2"]


# --------------------------------------------------------------------------------------------------------- sphinx

SPHINX = '''\
"""
Example
=======

Intro.
"""

import numpy as np

# ##########################################################################
# Load
# ----

x = np.zeros(3)

###############################################################################
# Fit

y = x + 1
'''


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("", id="plain"),
        pytest.param("# Tip: use %matplotlib widget in a notebook.\n", id="mentions-matplotlib-magic"),
    ],
)
def test_sphinx_gallery_cells(tmp_path, prefix):
    path = tmp_path / "plot_example.py"
    path.write_text(SPHINX.replace("import numpy as np\n", prefix + "import numpy as np\n"))
    document = read(path)
    assert document.kind == "sphinx"
    code = [cell for cell in document.cells if cell.kind == "code"]
    assert [cell.source for cell in code] == [prefix + "import numpy as np", "x = np.zeros(3)", "y = x + 1"]
    assert [cell.kind for cell in document.cells] == ["markdown", "code", "markdown", "code", "markdown", "code"]
    assert [cell.number for cell in document.cells] == [1, 2, 3, 4, 5, 6]
    built = graph.build(document, magics.normalise(document))
    assert built.magics == []  # the `%matplotlib inline` cell jupytext adds is not in the file
    assert [str(s.origin) for s in built.statements] == [
        f"cell 2, line {1 + prefix.count(chr(10))}",
        "cell 4, line 1",
        "cell 6, line 1",
    ]


# --------------------------------------------------------------------------------------------------------- script

SCRIPT = """\
import numpy as np
X = np.zeros(3)
# nbextract: train
model = fit(X)
if model:
    # nbextract: infer
    y = model.predict(X)
# nbextract: infer
out = y + 1
#nbextract: banana
z = out
"""


def test_plain_script_is_one_cell(tmp_path):
    path = tmp_path / "job.py"
    path.write_text("import numpy as np\n\nX = np.zeros(3)\nprint(X)\n")
    document = read(path)
    assert document.kind == "script"
    assert cells_of(document) == [(1, "code", "import numpy as np\n\nX = np.zeros(3)\nprint(X)\n", ())]
    assert statements_of(document) == [
        ("line 1", "import numpy as np"),
        ("line 3", "X = np.zeros(3)"),
        ("line 4", "print(X)"),
    ]


def test_plain_script_markers_split_and_tag(tmp_path):
    path = tmp_path / "job.py"
    path.write_text(SCRIPT)
    document = read(path)
    assert [(cell.tags, cell.line_offset) for cell in document.cells] == [
        ((), 0),
        (("nbextract:train",), 3),
        (("nbextract:infer",), 8),
    ]
    assert document.cells[1].source.startswith("model = fit(X)\n")
    assert "    # nbextract: infer\n" in document.cells[1].source  # an indented marker does not split
    assert "#nbextract: banana" in document.cells[2].source  # nor does an unknown stage
    assert statements_of(document) == [
        ("line 1", "import numpy as np"),
        ("line 2", "X = np.zeros(3)"),
        ("line 4", "model = fit(X)"),
        ("lines 5-7", "if model:\n    # nbextract: infer\n    y = model.predict(X)"),
        ("line 9", "out = y + 1"),
        ("line 11", "#nbextract: banana\nz = out"),  # the origin is the statement, not the comment above it
    ]


def test_document_origin_maps_script_lines(tmp_path):
    path = tmp_path / "job.py"
    path.write_text(SCRIPT)
    document = read(path)
    third = document.cells[2]
    assert str(document.origin(third, 1, 1)) == "line 9"
    assert str(document.origin(third, 2, 3)) == "lines 10-11"


def test_script_syntax_error_names_file_line(tmp_path):
    path = tmp_path / "job.py"
    path.write_text("x = 1\n# nbextract: train\ny = 2\nz = (\n")
    with pytest.raises(ReadError) as raised:
        analyse(path)
    assert str(raised.value).startswith(f"{path}, line 4: syntax error")
    assert raised.value.cell is None


# --------------------------------------------------------------------------------------------------------- errors

BAD_FILES = [
    pytest.param("nb.ipynb", b"\xff\xfe\x00x = 1", "not UTF-8", id="non-utf8-ipynb"),
    pytest.param("job.py", b"x = 1\nname = '\xe9t\xe9'\n", "not UTF-8", id="latin1-script"),
    pytest.param("nb.ipynb", b'{"cells": [{"cell_type": "code", "sour', "not a valid notebook", id="truncated-json"),
    pytest.param("nb.ipynb", b"", "not a valid notebook", id="empty-file"),
    pytest.param("nb.ipynb", b"[1, 2, 3]", "not a notebook", id="json-list"),
    pytest.param("nb.ipynb", b'{"name": "package.json"}', "notebook", id="json-object"),
    pytest.param("nb.ipynb", b"null", "not a notebook", id="json-null"),
    pytest.param("nb.ipynb", b'{"cells": [{"cell_type": null}]}', "not a notebook", id="nbformat-upgrade-crash"),
    pytest.param("nb.ipynb", b"[" * 100_000, "notebook", id="deeply-nested-json"),
    pytest.param(
        "nb.ipynb", b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "x"}', "notebook", id="bad-cells"
    ),
    pytest.param(
        "nb.ipynb",
        b'{"nbformat": 9, "nbformat_minor": 0, "metadata": {}, "cells": []}',
        "notebook",
        id="future-version",
    ),
    pytest.param("notes.txt", b"x = 1\n", "unsupported file type '.txt'", id="txt-extension"),
    pytest.param("Makefile", b"all:\n", "unsupported file type '(none)'", id="no-extension"),
    pytest.param("nb.ipynb.bak", b"{}", "unsupported file type '.bak'", id="backup-extension"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_unreadable_input_raises_read_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError) as raised:
        read(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text
    assert raised.value.exit_code == 2


def test_missing_file(tmp_path):
    path = tmp_path / "nope.ipynb"
    with pytest.raises(ReadError) as raised:
        read(path)
    assert str(raised.value) == f"{path}: no such file"


def test_directory_is_not_readable(tmp_path):
    with pytest.raises(ReadError) as raised:
        read(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path}: is a folder")


@pytest.mark.parametrize(
    ("cells", "where"),
    [
        pytest.param([("# Intro", (), "markdown"), "x = 1", "y = (x"], "cell 3, line 1", id="unclosed-paren"),
        pytest.param(["x = 1", "\n\nfor i in x\n    pass"], "cell 2, line 3", id="missing-colon"),
        pytest.param(["def f(:\n    pass"], "cell 1, line 1", id="bad-signature"),
        pytest.param(["a = 1", "b = 1 +\nc = 2"], "cell 2, line 1", id="dangling-operator"),
    ],
)
def test_syntax_error_in_notebook_names_file_cell_and_line(make_notebook, cells, where):
    path = make_notebook(cells)
    code_cells = [cell for cell in cells if isinstance(cell, str)]
    if len(code_cells) == 1:
        with pytest.raises(ReadError) as raised:
            analyse(path)
        error = raised.value
    else:
        error = analyse(path).broken[0]
    assert str(error).startswith(f"{path}, {where}: syntax error")
    assert isinstance(error, NbextractError)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "job.py"
    path.write_bytes("x = 'é'\n".encode("utf-8-sig"))
    assert read(path).cells[0].source == "x = 'é'\n"


# ------------------------------------------------------------------------------- what is not a regular file, its size

def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    path = tmp_path / "nb.ipynb"
    os.mkfifo(path)
    with pytest.raises(ReadError) as raised:
        read(path)
    assert str(raised.value) == f"{path}: not a regular file (a named pipe); expected a notebook (.ipynb) or a script (.py)"


def test_a_source_is_read_with_its_size_bound(tmp_path, monkeypatch):
    path = tmp_path / "job.py"
    path.write_text("x = 1\n" * 100)
    monkeypatch.setattr(reader, "SIZE_LIMIT", 600)
    assert len(read(path).cells[0].source) == 600
    monkeypatch.setattr(reader, "SIZE_LIMIT", 599)
    with pytest.raises(ReadError, match=r"too large to read \(0\.0 MiB; the limit is 0\.0 MiB\)"):
        read(path)


# ------------------------------------------------------------------ schema errors name the cell and field, not content

KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"


def schema_broken(cell: dict) -> bytes:
    """A notebook whose second cell is `cell`, beside a valid first one; the key sits in the broken cell's source."""
    good = {"cell_type": "code", "id": "a", "metadata": {}, "source": "x = 1", "outputs": [], "execution_count": None}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [good, {"id": "b", "metadata": {}, **cell}]}).encode()


# name -> (the broken second cell, the message after `PATH, cell 2: not a valid notebook: `)
SCHEMA_ERRORS = {
    "unknown-cell-type": ({"cell_type": "secret", "source": f"API_KEY = '{KEY}'"}, "its cell_type or fields match no cell type (code, markdown, raw)"),
    "source-of-the-wrong-type": ({"cell_type": "markdown", "source": {"key": KEY}}, "'source' has the wrong type"),
    "tag-of-the-wrong-type": ({"cell_type": "markdown", "source": KEY, "metadata": {"tags": [{"k": KEY}]}}, "'metadata.tags' has the wrong type"),
    "tags-not-a-list": ({"cell_type": "raw", "source": "x", "metadata": {"tags": KEY}}, "'metadata.tags' has the wrong type"),
}


@pytest.mark.parametrize("case", list(SCHEMA_ERRORS))
def test_a_schema_error_names_the_cell_and_field_and_never_the_content(tmp_path, caplog, case):
    cell, message = SCHEMA_ERRORS[case]
    path = tmp_path / "nb.ipynb"
    path.write_bytes(schema_broken(cell))
    with pytest.raises(ReadError) as raised:
        read(path)
    assert str(raised.value) == f"{path}, cell 2: not a valid notebook: {message}"
    assert raised.value.cell == 2
    assert KEY[-8:] not in caplog.text  # nbformat logs the invalid cell unless told not to


@pytest.mark.parametrize(
    "text",
    [
        f'{{"cells": [{{"source": "{KEY}"',
        f"{KEY} is no JSON",
        json.dumps({"nbformat": 4, "metadata": {"k": KEY}, "cells": [{"x": KEY}]}),
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": [KEY], "cells": []}),
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "raw", "source": "", KEY: 1}, {"cell_type": 7}]}),
    ],
    ids=["truncated", "not-json", "no-cell-type", "metadata-not-an-object", "unknown-field"],
)
def test_a_notebook_that_cannot_be_read_is_described_without_its_content(tmp_path, text):
    path = tmp_path / "nb.ipynb"
    path.write_text(text)
    with pytest.raises(ReadError) as raised:
        read(path)
    assert KEY[-8:] not in str(raised.value) and KEY[-8:] not in raised.value.message


# ---------------------------------------------------------------------------------------------------- import cost

SPARED = """\
import sys
from nbextract.read import read
read(sys.argv[1])
print("rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is not None)
"""


@pytest.mark.parametrize("first", ["", "import jsonschema\n"], ids=["fresh-process", "jsonschema-already-imported"])
@pytest.mark.parametrize("name", ["nb.ipynb", "script.py"])
def test_reading_compiles_no_iri_grammars_unless_the_process_already_has_them(tmp_path, name, first):
    """A conversion's own process spares the grammars nbformat's schemas never use; a process that imported jsonschema
    first (the Jupyter server) keeps its format checkers as they were."""
    pytest.importorskip("rfc3987_syntax")
    source = tmp_path / name
    if name.endswith(".ipynb"):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), source)
    else:
        source.write_text("# %%\nx = 1\n", encoding="utf-8")
    shown = subprocess.run([sys.executable, "-c", first + SPARED, str(source)], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == str(bool(first))


def test_the_pipeline_imports_no_libcst_matchers():
    """libcst.matchers costs half a second of every run to import; graph.nodes.nodes_of does its findall."""
    code = "import sys, nbextract.convert; print('libcst.matchers' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
