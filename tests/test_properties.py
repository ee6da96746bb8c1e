"""Whatever the cells hold, the pipeline after reading returns a graph or raises NbextractError, nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nbextract.document import Cell
from nbextract.errors import NbextractError
from nbextract.graph import StatementGraph
from nbextract.magics import normalise_cell

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = st.sampled_from(["x", "y", "df", "clf", "model", "X", "np", "plt", "f", "cfg", "i", "scaler"])
METHODS = st.sampled_from(["fit", "predict", "transform", "fit_transform", "dropna", "append", "head", "seed", "plot"])

STATEMENT_TEMPLATES = [
    "{a} = {b}",
    "{a} = {b}.{m}({c})",
    "{a}.{m}({b})",
    "{a}.{m}({b}, inplace=True)",
    "{a}[{b!r}] = {c}",
    "{a}.attr = {b}",
    "del {a}[{b}]",
    "del {a}",
    "{a} += {b}",
    "{a}, {b} = {c}",
    "import numpy as {a}",
    "import os.path",
    "from {a} import *",
    "from sklearn.linear_model import LogisticRegression as {a}",
    "{a} = [{b} for {b} in {c}]",
    "{a} = {{{b}: {c} for {b} in {c}}}",
    "{a} = lambda {b}: {b} + {c}",
    "{a} = ({b} := {c})",
    "def {a}({b}):\n    {b}.{m}({c})\n    return {c}",
    "def {a}():\n    global {b}\n    {b} = {c}\n    {b} += 1",
    "def {a}(*{b}, **{c}):\n    yield {b}",
    "class {a}:\n    {b} = {c}\n    def {m}(self):\n        return self.{b}",
    "for {a} in {b}:\n    {c} = {a}",
    "with open({b!r}) as {a}:\n    {c} = {a}.read()",
    "if {a}:\n    {b} = 1\nelse:\n    {b} = 2",
    "try:\n    {a} = {b}\nexcept Exception:\n    {a} = None",
    "@{a}\ndef {b}():\n    pass",
    "async def {a}():\n    await {b}",
    "print(f'{{{a}}} {{{b}!r}}')",
    "{a}()",
    "{a}({b}, {c}={a})",
    "if __name__ == '__main__':\n    {a}()",
    "# nbextract: {b}",
    "%time {a} = {b}({c})",
    "{a} = %time {b}({c})",
    "%timeit {a}.{m}({b})",
    "%matplotlib inline",
    "%load_ext autoreload\n%autoreload 2",
    "%env {a}={b}",
    "%pip install {a}=={b} -r {c}",
    "!pip install {a}",
    "!ls {a}",
    "{a} = !ls",
    "{a}?",
    "%config InlineBackend.figure_format = {b!r}",
    "%who",
    "%%time",
    "%%bash\necho {a}",
    "get_ipython().run_line_magic({a})",
    "{a} = '%not a magic {b}'",
    '{a} = """\n%{b}\n!{c}\n"""',
    "{a} = (",
    ")",
    "    {a} = 1",
    "def {a}(:",
    "{a} = {b} \\",
    "return {a}",
    "yield {a}",
    "break",
    "\t{a}",
    "{a} = 1 # 100%",
]


@st.composite
def research_statement(draw) -> str:
    template = draw(st.sampled_from(STATEMENT_TEMPLATES))
    return template.format(a=draw(NAMES), b=draw(NAMES), c=draw(NAMES), m=draw(METHODS))


research_cell = st.lists(research_statement(), min_size=0, max_size=6).map("\n".join)

random_cell = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("%!?#:=()[]{}\\'\"\n\t .,_xyz019@*+-<>;")),
        st.characters(codec="utf-8"),
    ),
    max_size=80,
)

TAGS = st.sampled_from([(), ("nbextract:skip",), ("nbextract:train",), ("nbextract:infer",), ("other",)])


def check(graph_of, cells, tags, kind):
    """The property: a StatementGraph, or an NbextractError; and a graph's edges agree with its sources."""
    try:
        built = graph_of(*cells, kind=kind, tags=dict(enumerate(tags, start=1)))
    except NbextractError:
        return
    assert isinstance(built, StatementGraph)
    assert [s.index for s in built.statements] == list(range(len(built.statements)))
    for statement in built.statements:
        for name, source in statement.sources.items():
            assert source < statement.index
            assert name in built.graph.edges[source, statement.index]["names"]


@SETTINGS
@given(
    cells=st.lists(random_cell, min_size=1, max_size=4),
    tags=st.lists(TAGS, max_size=4),
    kind=st.sampled_from(["ipynb", "script"]),
)
@example(cells=["\U0001138e"], tags=[], kind="ipynb")  # libcst: CSTValidationError, not ParserSyntaxError
@example(cells=["get_ipython().run_line_magic()  # 100%"], tags=[], kind="ipynb")  # IndexError in magics
def test_random_text_cells(graph_of, cells, tags, kind):
    check(graph_of, cells, tags, kind)


@SETTINGS
@given(
    cells=st.lists(research_cell, min_size=1, max_size=5),
    tags=st.lists(TAGS, max_size=5),
    kind=st.sampled_from(["ipynb", "script"]),
)
@example(cells=["x = x\n\tx\n    x = 1\nx = x\n%time x = x(x)"], tags=[], kind="ipynb")  # IPython: IndentationError
def test_research_like_cells(graph_of, cells, tags, kind):
    check(graph_of, cells, tags, kind)


@SETTINGS
@given(cells=st.lists(st.one_of(research_cell, random_cell), min_size=1, max_size=4), tags=st.lists(TAGS, max_size=4))
def test_mixed_cells(graph_of, cells, tags):
    check(graph_of, cells, tags, "ipynb")


def physical_lines(text: str) -> int:
    return text.count("\n") + (bool(text) and not text.endswith("\n"))


@SETTINGS
@given(source=st.one_of(research_cell, random_cell))
@example(source='s = "a\u2028b"\n%matplotlib inline\nx = 1\n')  # str.splitlines splits inside the string
@example(source="x = x\n# nbextract: x\nx = %time x(x)")  # the comment above came back with the statement
def test_normalise_keeps_every_line_where_it_was(source):
    result = normalise_cell(Cell(1, source))
    assert physical_lines(result.code) == physical_lines(source)
    assert all(1 <= decision.line <= max(1, physical_lines(source)) for decision in result.decisions)
