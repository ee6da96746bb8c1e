"""Statement codes cut from the source (graph.statements.cut_from_source) are what libcst generates for each top-level
statement, for every shape of leading lines, block endings and line breaks a notebook holds; where Python's parser and
libcst's disagree, there is no cut and the codes are generated."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from nbextract.graph.statements import code_of, cut_from_source

SOURCES = {
    "plain statements": "import os\nx = 1\ny = x + 1\n",
    "a header and leading comments": "# a notebook\n\n# the imports\nimport os\n\n\n# config\nx = 1\n",
    "semicolons and trailing comments": "a = 1; b = 2  # two\nc = 3;\n",
    "decorators": (
        "@dec\n# between\n@other(1,\n       2)\n\ndef f():\n    pass\n@dataclass\nclass C:\n    x: int\n"
    ),
    "block footers": (
        "for i in range(3):\n    f(i)\n    # still the loop's\n\n        # deeper\n# the next statement's\nz = 1\n"
        "if a:\n    pass\nelse:\n    b()\n    # else's end\n\n\n"
    ),
    "nested blocks ending in comments": (
        "def f():\n    for x in y:\n        if x:\n            g(x)\n            # deepest\n        # loop\n"
        "    # body\n"
        "# module\nclass C:\n    def m(self):\n        return 1\n\n    # class end\n\nv = C()\n"
    ),
    "multi-line expressions": "x = [\n    1,\n    2,\n]\ny = f(a,\n      b)  # end\nz = \\\n    3\ns = '''a\nb\n'''\n",
    "line separators inside strings": "a = 'x\\x0cy'\nb = \"\u2028\"\nc = '\x0c'\nd = 1\n",
    "a footer": "x = 1\n# the end\n\n# really\n",
    "async and with": "async def f():\n    async with a as b:\n        pass\nwith open(p) as f, lock:\n    f.read()\n",
    "try and match": (
        "try:\n    risky()\nexcept ValueError:\n    pass\nfinally:\n    done()\n    # cleanup\n"
        "match c:\n    case 1:\n        pass\n    case _:\n        pass\n"
    ),
    "blank statement-free lines only": "\n\n\n",
}


@pytest.mark.parametrize("name", SOURCES)
def test_cut_codes_are_libcst_codes(name: str) -> None:
    module = cst.parse_module(SOURCES[name])
    cuts = cut_from_source(module, SOURCES[name])
    assert cuts is not None
    assert [cut.code for cut in cuts] == [code_of(module, node) for node in module.body]


@pytest.mark.parametrize("name", SOURCES)
def test_cut_statements_are_what_python_parses_in_each_code(name: str) -> None:
    """What the secrets prefilter reads in place of parsing each statement's code again."""
    cuts = cut_from_source(cst.parse_module(SOURCES[name]), SOURCES[name])
    assert cuts is not None
    for cut in cuts:
        assert [ast.dump(node) for node in cut.python] == [ast.dump(node) for node in ast.parse(cut.code).body]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("x = 1\r\ny = 2\r\n", id="carriage-returns"),
        pytest.param("x = 1\ntype Alias = list[int]\n", id="syntax-python-3.11-does-not-parse"),
    ],
)
def test_no_cut_where_the_parsers_disagree(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        pytest.skip("this libcst does not parse it either")
    try:
        compile(source, "<test>", "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST
    except SyntaxError:
        pass
    else:
        if "\r" not in source:
            pytest.skip("this Python parses it")
    assert cut_from_source(module, source) is None
