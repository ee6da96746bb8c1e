"""The statement graph: which statement each read comes from, across cells."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from libcst.metadata import ScopeProvider

from nbextract import graph
from nbextract.analyze import analyse
from nbextract.errors import ReadError


def first_line(statement) -> str:
    """The statement's own first line (its code may start with the comments above it)."""
    return next(
        line.strip() for line in statement.code.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


def edges(sg) -> set[tuple[str, str, str]]:
    """(defining statement's first line, reading statement's first line, name) for every edge."""
    return {
        (first_line(sg.statements[source]), first_line(sg.statements[target]), name)
        for source, target, data in sg.graph.edges(data=True)
        for name in data["names"]
    }


def index_edges(sg) -> set[tuple[int, int, str]]:
    return {(source, target, name) for source, target, data in sg.graph.edges(data=True) for name in data["names"]}


def statement(sg, first: str):
    matches = [s for s in sg.statements if first_line(s) == first]
    assert len(matches) == 1, f"{first!r} matches {len(matches)} statements"
    return matches[0]


# Each case: cell sources (one statement per cell, or more where the case needs it) and the exact set of edges.
# Every case runs twice: one statement group per cell, and everything in a single cell; the edges must agree.
EDGE_CASES = [
    pytest.param(
        ["import numpy as np", "def f():\n    np.random.seed(0)", "f()", "z = np.zeros(2)"],
        {
            ("import numpy as np", "f()", "np"),
            ("def f():", "f()", "f"),
            ("import numpy as np", "z = np.zeros(2)", "np"),
        },
        id="module-method-in-a-function-does-not-rebind-the-module",
    ),
    pytest.param(
        ["def helper(x):\n    return x", "def g():\n    helper.calls = 1", "g()", "y = helper(1)"],
        {
            ("def g():", "g()", "g"),
            ("def helper(x):", "g()", "helper"),
            ("def helper(x):", "y = helper(1)", "helper"),
        },
        id="attribute-set-on-a-source-function-does-not-rebind-it",
    ),
    pytest.param(
        ["input = 5", "def f():\n    return input", "y = f()"],
        {("input = 5", "y = f()", "input"), ("def f():", "y = f()", "f")},
        id="global-that-shadows-a-builtin-is-read-by-a-function",
    ),
    pytest.param(
        ["x = 1", "y = x + 1"],
        {("x = 1", "y = x + 1", "x")},
        id="def-use",
    ),
    pytest.param(
        ["x = 1", "y = x", "x = 2", "z = x"],
        {("x = 1", "y = x", "x"), ("x = 2", "z = x", "x")},
        id="reassignment-latest-binder-only",
    ),
    pytest.param(
        ["x = 1", "x = x + 1", "y = x"],
        {("x = 1", "x = x + 1", "x"), ("x = x + 1", "y = x", "x")},
        id="rebinding-from-itself",
    ),
    pytest.param(
        ["X, y = load()", "clf = Model()", "clf.fit(X, y)", "p = clf.predict(X)"],
        {
            ("X, y = load()", "clf.fit(X, y)", "X"),
            ("X, y = load()", "clf.fit(X, y)", "y"),
            ("clf = Model()", "clf.fit(X, y)", "clf"),
            ("clf.fit(X, y)", "p = clf.predict(X)", "clf"),
            ("X, y = load()", "p = clf.predict(X)", "X"),
        },
        id="fit-statement-mutates-receiver",
    ),
    pytest.param(
        [
            "scaler = Scaler()",
            "Xs = scaler.fit_transform(X)",
            "X2s = scaler.transform(X2)",
            "X3s = scaler.transform(X3)",
        ],
        {
            ("scaler = Scaler()", "Xs = scaler.fit_transform(X)", "scaler"),
            ("Xs = scaler.fit_transform(X)", "X2s = scaler.transform(X2)", "scaler"),
            # transform is pure: the third statement still reads the scaler fitted by fit_transform
            ("Xs = scaler.fit_transform(X)", "X3s = scaler.transform(X3)", "scaler"),
        },
        id="fit_transform-in-assignment-mutates-transform-does-not",
    ),
    pytest.param(
        ["df = load()", 'df["a"] = 1', "n = len(df)"],
        {("df = load()", 'df["a"] = 1', "df"), ('df["a"] = 1', "n = len(df)", "df")},
        id="subscript-assignment",
    ),
    pytest.param(
        ["obj = Thing()", "obj.attr = 1", "v = obj.attr"],
        {("obj = Thing()", "obj.attr = 1", "obj"), ("obj.attr = 1", "v = obj.attr", "obj")},
        id="attribute-assignment",
    ),
    pytest.param(
        ["obj = Thing()", "obj.inner.items[0] = 1", "v = obj"],
        {("obj = Thing()", "obj.inner.items[0] = 1", "obj"), ("obj.inner.items[0] = 1", "v = obj", "obj")},
        id="nested-target-rebinds-root",
    ),
    pytest.param(
        ["d = {}", "k = 'a'", "del d[k]", "e = d"],
        {("d = {}", "del d[k]", "d"), ("k = 'a'", "del d[k]", "k"), ("del d[k]", "e = d", "d")},
        id="del-subscript",
    ),
    pytest.param(
        ["x = 0", "x += 1", "y = x"],
        {("x = 0", "x += 1", "x"), ("x += 1", "y = x", "x")},
        id="augmented-assignment-reads-and-binds",
    ),
    pytest.param(
        ["df = load()", "df.dropna(inplace=True)", "a = df.dropna()", "b = df"],
        {
            ("df = load()", "df.dropna(inplace=True)", "df"),
            ("df.dropna(inplace=True)", "a = df.dropna()", "df"),
            ("df.dropna(inplace=True)", "b = df", "df"),
        },
        id="inplace-true-rebinds-plain-call-does-not",
    ),
    pytest.param(
        ["df = load()", "df.dropna(inplace=False)", "b = df"],
        {("df = load()", "df.dropna(inplace=False)", "df"), ("df = load()", "b = df", "df")},
        id="inplace-false-does-not-rebind",
    ),
    pytest.param(
        ["x = 1", "def f(x):\n    return x + 1", "x = 2", "r = f(3)"],
        {("def f(x):", "r = f(3)", "f")},
        id="parameter-shadows-global",
    ),
    pytest.param(
        ["x = 1", "def g():\n    x = 5\n    return x", "x = 2", "r = g()"],
        {("def g():", "r = g()", "g")},
        id="local-shadows-global",
    ),
    pytest.param(
        ["def f(): return 1", "a = f()", "def f(): return 2", "b = f()"],
        {("def f(): return 1", "a = f()", "f"), ("def f(): return 2", "b = f()", "f")},
        id="redefined-function",
    ),
    pytest.param(
        ["t = 1", "def f():\n    return t * 2", "t = 2", "r = f()", "t = 3", "s = t"],
        {
            ("def f():", "r = f()", "f"),
            ("t = 2", "r = f()", "t"),  # the binder of t as of the call, not as of the def
            ("t = 3", "s = t", "t"),
        },
        id="function-reads-global-as-of-call",
    ),
    pytest.param(
        ["t = 1", "def g():\n    return t", "def f():\n    return g()", "t = 2", "r = f()"],
        {("def g():", "r = f()", "g"), ("def f():", "r = f()", "f"), ("t = 2", "r = f()", "t")},
        id="function-reads-global-transitively",
    ),
    pytest.param(
        ["clf = Model()", "def train():\n    clf.fit(X)", "train()", "p = clf.predict(X)"],
        {
            ("clf = Model()", "train()", "clf"),
            ("def train():", "train()", "train"),
            ("train()", "p = clf.predict(X)", "clf"),
        },
        id="function-mutates-global",
    ),
    pytest.param(
        [
            "clf = Model()",
            "X = load()",
            "df = read()",
            "def train(m, X):\n    m.fit(X)",
            "def show(d):\n    print(d)",
            "train(clf, X)",
            "show(df)",
            "p = clf.predict(X)",
            "q = df",
        ],
        {
            ("clf = Model()", "train(clf, X)", "clf"),
            ("X = load()", "train(clf, X)", "X"),
            ("def train(m, X):", "train(clf, X)", "train"),
            ("df = read()", "show(df)", "df"),
            ("def show(d):", "show(df)", "show"),
            ("train(clf, X)", "p = clf.predict(X)", "clf"),  # train changed clf
            ("X = load()", "p = clf.predict(X)", "X"),  # X was not mutated in train
            ("df = read()", "q = df", "df"),  # show only prints
        },
        id="function-mutating-parameter-rebinds-argument",
    ),
    pytest.param(
        ["clf = Model()", "def train(m):\n    m.fit(1)", "train(m=clf)", "p = clf"],
        {
            ("clf = Model()", "train(m=clf)", "clf"),
            ("def train(m):", "train(m=clf)", "train"),
            ("train(m=clf)", "p = clf", "clf"),
        },
        id="function-mutating-parameter-keyword-argument",
    ),
    pytest.param(
        ["d = {}", "def put(target):\n    target['k'] = 1", "put(d)", "e = d"],
        {("d = {}", "put(d)", "d"), ("def put(target):", "put(d)", "put"), ("put(d)", "e = d", "d")},
        id="function-subscript-assigning-parameter",
    ),
    pytest.param(
        ["cfg = None", "def setup():\n    global cfg\n    cfg = 1", "setup()", "print(cfg)"],
        {("def setup():", "setup()", "setup"), ("setup()", "print(cfg)", "cfg")},
        id="global-statement-call-binds-global",
    ),
    pytest.param(
        ["n = 0", "def inc():\n    global n\n    n += 1", "inc()", "m = n"],
        {
            ("n = 0", "inc()", "n"),  # n += 1 reads n
            ("def inc():", "inc()", "inc"),
            ("inc()", "m = n", "n"),
        },
        id="global-augmented-assignment-reads-and-binds",
    ),
    pytest.param(
        ["xs = [1, 2]", "ys = [i * 2 for i in xs]", "print(i)"],
        {("xs = [1, 2]", "ys = [i * 2 for i in xs]", "xs")},
        id="comprehension-variable-is-not-global",
    ),
    pytest.param(
        ["x = [1]", "y = [x for x in x]", "z = x"],
        {("x = [1]", "y = [x for x in x]", "x"), ("x = [1]", "z = x", "x")},
        id="comprehension-iterable-is-read-in-enclosing-scope",
    ),
    pytest.param(
        [
            "pairs = {}",
            "s = {k for k in pairs}",
            "g = sum(v for v in pairs.values())",
            "d = {k: 1 for k in pairs}",
            "k",
        ],
        {
            ("pairs = {}", "s = {k for k in pairs}", "pairs"),
            ("pairs = {}", "g = sum(v for v in pairs.values())", "pairs"),
            ("pairs = {}", "d = {k: 1 for k in pairs}", "pairs"),
        },
        id="set-generator-dict-comprehensions",
    ),
    pytest.param(
        [
            "import numpy as np",
            "import matplotlib.pyplot as plt",
            "np.random.seed(0)",
            "x = np.zeros(3)",
            "plt.plot(x)",
            "plt.show()",
        ],
        {
            ("import numpy as np", "np.random.seed(0)", "np"),
            ("import numpy as np", "x = np.zeros(3)", "np"),  # the seed call did not rebind np
            ("import matplotlib.pyplot as plt", "plt.plot(x)", "plt"),
            ("x = np.zeros(3)", "plt.plot(x)", "x"),
            ("import matplotlib.pyplot as plt", "plt.show()", "plt"),  # plot did not rebind plt
        },
        id="module-calls-do-not-rebind-module",
    ),
    pytest.param(
        ["import os.path", "p = os.path.join('a', 'b')", "q = os.path.exists(p)"],
        {
            ("import os.path", "p = os.path.join('a', 'b')", "os"),
            ("import os.path", "q = os.path.exists(p)", "os"),
            ("p = os.path.join('a', 'b')", "q = os.path.exists(p)", "p"),
        },
        id="dotted-import-is-read-through-attribute",
    ),
    pytest.param(
        ["import os", "os.environ['K'] = '1'", "v = os.getcwd()"],
        {("import os", "os.environ['K'] = '1'", "os"), ("import os", "v = os.getcwd()", "os")},
        id="assignment-into-module-does-not-rebind-module",
    ),
    pytest.param(
        [
            "for i in range(3):\n    total = i",
            "with open('f') as fh:\n    data = fh.read()",
            "print(total, data, i, fh)",
        ],
        {
            ("for i in range(3):", "print(total, data, i, fh)", "total"),
            ("for i in range(3):", "print(total, data, i, fh)", "i"),
            ("with open('f') as fh:", "print(total, data, i, fh)", "data"),
            ("with open('f') as fh:", "print(total, data, i, fh)", "fh"),
        },
        id="blocks-bind-what-their-bodies-bind",
    ),
    # PyTorch: objects that share state with a model change it when they are changed.
    pytest.param(
        ["model = Net()", "opt = Adam(model.parameters(), lr=0.1)", "opt.step()", "p = model(X)"],
        {
            ("model = Net()", "opt = Adam(model.parameters(), lr=0.1)", "model"),  # parameters() is pure
            ("opt = Adam(model.parameters(), lr=0.1)", "opt.step()", "opt"),
            ("model = Net()", "opt.step()", "model"),  # the step reads the weights it updates
            ("opt.step()", "p = model(X)", "model"),
        },
        id="optimizer-step-changes-the-model-it-was-built-from",
    ),
    pytest.param(
        [
            "import torch",
            "model = Net()",
            "opt = torch.optim.SGD(model.parameters(), lr=0.1)",
            "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)",
            "sched.step()",
            "p = model(X)",
        ],
        {
            ("import torch", "opt = torch.optim.SGD(model.parameters(), lr=0.1)", "torch"),
            ("import torch", "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)", "torch"),
            ("model = Net()", "opt = torch.optim.SGD(model.parameters(), lr=0.1)", "model"),
            ("opt = torch.optim.SGD(model.parameters(), lr=0.1)", "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)", "opt"),
            ("sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)", "sched.step()", "sched"),
            ("opt = torch.optim.SGD(model.parameters(), lr=0.1)", "sched.step()", "opt"),
            ("model = Net()", "sched.step()", "model"),
            ("sched.step()", "p = model(X)", "model"),
        },
        id="scheduler-step-changes-optimizer-and-model",
    ),
    pytest.param(
        ["model = Net()", "loss = criterion(model(X), y)", "loss.backward()", "w = model.weight"],
        {
            ("model = Net()", "loss = criterion(model(X), y)", "model"),
            ("loss = criterion(model(X), y)", "loss.backward()", "loss"),
            ("model = Net()", "loss.backward()", "model"),
            ("loss.backward()", "w = model.weight", "model"),  # the grads live in the model
        },
        id="backward-changes-what-the-loss-was-computed-from",
    ),
    pytest.param(
        [
            "import torch",
            "model = Net()",
            "opt = torch.optim.Adam(model.parameters())",
            "for epoch in range(3):\n    opt.zero_grad()\n    loss = model(X).sum()\n    loss.backward()\n    opt.step()",
            "model.eval()",
            "p = model(X_test)",
        ],
        {
            ("import torch", "opt = torch.optim.Adam(model.parameters())", "torch"),
            ("model = Net()", "opt = torch.optim.Adam(model.parameters())", "model"),
            ("opt = torch.optim.Adam(model.parameters())", "for epoch in range(3):", "opt"),
            ("model = Net()", "for epoch in range(3):", "model"),
            ("for epoch in range(3):", "model.eval()", "model"),  # the loop trained the model
            ("model.eval()", "p = model(X_test)", "model"),
        },
        id="training-loop-rebinds-the-model",
    ),
    pytest.param(
        ["model = Net()", "def fit(m):\n    opt = Adam(m.parameters())\n    opt.step()", "fit(model)", "p = model"],
        {
            ("model = Net()", "fit(model)", "model"),
            ("def fit(m):", "fit(model)", "fit"),
            ("fit(model)", "p = model", "model"),
        },
        id="optimizer-inside-a-function-changes-the-argument",
    ),
    pytest.param(
        ["device = 'cpu'", "model = Net()", "model.to(device)", "p = model(X)"],
        {
            ("device = 'cpu'", "model.to(device)", "device"),
            ("model = Net()", "model.to(device)", "model"),
            ("model.to(device)", "p = model(X)", "model"),
        },
        id="module-to-device-changes-the-module",
    ),
    pytest.param(
        ["x = zeros(3)", "x.add_(1)", "y = x"],
        {("x = zeros(3)", "x.add_(1)", "x"), ("x.add_(1)", "y = x", "x")},
        id="in-place-tensor-op-rebinds",
    ),
    pytest.param(
        ["class Net:\n    pass", "model = Net().to('cpu')", "other = Net()"],
        {("class Net:", "model = Net().to('cpu')", "Net"), ("class Net:", "other = Net()", "Net")},
        id="method-on-a-new-object-does-not-change-its-class",
    ),
    pytest.param(
        ["xb = 1", "for xb in range(3):\n    y = xb", "z = xb"],
        {("for xb in range(3):", "z = xb", "xb")},
        id="loop-variable-read-in-its-loop-is-the-loop's-own",
    ),
    pytest.param(
        [
            "HIDDEN = 8",
            "model = Net(HIDDEN)",
            "out = model(X)",
            "loss = criterion(out, y)",
            "loss.backward()",
            "h = HIDDEN",
            "w = model.weight",
        ],
        {
            ("HIDDEN = 8", "model = Net(HIDDEN)", "HIDDEN"),
            ("model = Net(HIDDEN)", "out = model(X)", "model"),
            ("out = model(X)", "loss = criterion(out, y)", "out"),
            ("loss = criterion(out, y)", "loss.backward()", "loss"),
            ("out = model(X)", "loss.backward()", "out"),
            ("model = Net(HIDDEN)", "loss.backward()", "model"),
            ("HIDDEN = 8", "h = HIDDEN", "HIDDEN"),  # how the model was built is not changed by its grads
            ("loss.backward()", "w = model.weight", "model"),
        },
        id="backward-through-an-intermediate-output-reaches-the-model",
    ),
    pytest.param(
        ["import torch", "LR = 0.1", "model = Net()", "opt = torch.optim.Adam(model.parameters(), lr=LR)", "opt.step()", "r = LR"],
        {
            ("import torch", "opt = torch.optim.Adam(model.parameters(), lr=LR)", "torch"),
            ("LR = 0.1", "opt = torch.optim.Adam(model.parameters(), lr=LR)", "LR"),
            ("model = Net()", "opt = torch.optim.Adam(model.parameters(), lr=LR)", "model"),
            ("opt = torch.optim.Adam(model.parameters(), lr=LR)", "opt.step()", "opt"),
            ("model = Net()", "opt.step()", "model"),
            ("LR = 0.1", "r = LR", "LR"),  # a keyword setting is not state the optimizer shares
        },
        id="optimizer-keyword-settings-are-not-shared-state",
    ),
]


@pytest.fixture(params=[graph.scopes.SEGMENT, 1], ids=["segments", "segment-per-statement"])
def segmented(request, monkeypatch):
    """Scope analysis in the default segments, and with each statement a segment of its own: whatever a segment does not
    see of the others (imports, globals, optimizers, defs) must come out the same."""
    monkeypatch.setattr(graph.scopes, "SEGMENT", request.param)


@pytest.mark.parametrize("layout", ["cell-per-statement", "single-cell"])
@pytest.mark.parametrize(("cells", "expected"), EDGE_CASES)
def test_edges(graph_of, cells, expected, layout, segmented):
    sources = cells if layout == "cell-per-statement" else ["\n".join(cells)]
    assert edges(graph_of(*sources)) == expected


@pytest.mark.parametrize(
    ("cells", "first", "defines", "not_defined"),
    [
        pytest.param(["xs = [1]", "ys = [i for i in xs]"], "ys = [i for i in xs]", {"ys"}, {"i"}, id="comprehension"),
        pytest.param(["import numpy as np\nnp.random.seed(0)"], "np.random.seed(0)", set(), {"np"}, id="module-seed"),
        pytest.param(["import matplotlib.pyplot as plt\nplt.plot(1)"], "plt.plot(1)", set(), {"plt"}, id="plt-plot"),
        pytest.param(["df = f()\ndf.dropna()"], "df.dropna()", set(), {"df"}, id="pure-method"),
        pytest.param(["df = f()\ndf.dropna(inplace=True)"], "df.dropna(inplace=True)", {"df"}, set(), id="inplace"),
        pytest.param(["x = 0\nx += 1"], "x += 1", {"x"}, set(), id="augassign"),
        pytest.param(["forest = f()\nfor tree in forest:\n    tree.fit(X)"], "for tree in forest:", {"forest", "tree"}, set(), id="loop-variable-changed-changes-collection"),
        pytest.param(["forest = f()\nsets = g()\nfor tree, (Xp, yp) in zip(forest, sets):\n    tree.fit(Xp, yp)"], "for tree, (Xp, yp) in zip(forest, sets):", {"forest", "tree", "Xp", "yp"}, {"sets"}, id="loop-through-zip"),
        pytest.param(["forest = f()\nfor i, tree in enumerate(forest):\n    tree.fit(X)"], "for i, tree in enumerate(forest):", {"forest", "i", "tree"}, set(), id="loop-through-enumerate"),
        pytest.param(["models = f()\nfor name, model in models.items():\n    model.fit(X)"], "for name, model in models.items():", {"models", "name", "model"}, set(), id="loop-through-items"),
        pytest.param(["models = f()\nfor model in models.values():\n    model.fit(X)"], "for model in models.values():", {"models", "model"}, set(), id="loop-through-values"),
        pytest.param(["a = f()\nb = f()\nfor df in [a, b]:\n    df.dropna(inplace=True)"], "for df in [a, b]:", {"a", "b", "df"}, set(), id="loop-over-a-list-of-names"),
        pytest.param(["forest = f()\nfor tree in forest:\n    print(tree.score(X))"], "for tree in forest:", {"tree"}, {"forest"}, id="loop-reading-elements-changes-nothing"),
        pytest.param(["forest = f()\nfor i in range(3):\n    forest_i = i"], "for i in range(3):", {"i", "forest_i"}, {"forest"}, id="loop-over-range"),
        pytest.param(["import os.path"], "import os.path", {"os"}, {"os.path"}, id="dotted-import-binds-root"),
        pytest.param(["import a.b.c as abc"], "import a.b.c as abc", {"abc"}, {"a", "a.b", "a.b.c"}, id="import-as"),
        pytest.param(["def f():\n    y = 1\n    return y"], "def f():", {"f"}, {"y"}, id="function-locals"),
        pytest.param(["class A:\n    z = 1"], "class A:", {"A"}, {"z"}, id="class-attributes"),
    ],
)
def test_defines(graph_of, cells, first, defines, not_defined, segmented):
    found = statement(graph_of(*cells), first)
    assert found.defines == defines
    assert not (found.defines & not_defined)


@pytest.mark.parametrize(
    ("cells", "bases"),
    [
        pytest.param(["import torch.nn as nn\nclass Net(nn.Module):\n    pass"], {"torch.nn.Module"}, id="alias-import"),
        pytest.param(["from torch import nn\nclass Net(nn.Module):\n    pass"], {"torch.nn.Module"}, id="from-import"),
        pytest.param(["class Base:\n    pass\nclass Net(Base):\n    pass"], {"Base"}, id="source-class"),
        pytest.param(["class Net:\n    pass"], set(), id="no-base"),
    ],
)
def test_class_bases_are_qualified(graph_of, cells, bases, segmented):
    (net,) = [s for s in graph_of(*cells).statements if first_line(s).startswith("class Net")]
    assert net.bases == bases


def test_sources_agree_with_edges(graph_of):
    sg = graph_of("a = 1\nb = 2", "c = a + b", "a = c", "d = a * b")
    assert statement(sg, "d = a * b").sources == {"a": 3, "b": 1}
    assert statement(sg, "c = a + b").sources == {"a": 0, "b": 1}
    for stmt in sg.statements:
        for name, source in stmt.sources.items():
            assert name in sg.graph.edges[source, stmt.index]["names"]
    assert index_edges(sg) == {(0, 2, "a"), (1, 2, "b"), (2, 3, "c"), (3, 4, "a"), (1, 4, "b")}


def test_binder_is_the_latest_earlier_binder(graph_of):
    sg = graph_of("x = 1", "y = x", "x = 2", "z = 3")
    assert [sg.binder(index, "x") for index in range(5)] == [None, 0, 0, 2, 2]
    assert sg.binder(4, "nothing") is None


def test_label_is_the_statement_not_the_comment_above_it(graph_of):
    sg = graph_of("x = 1", "# Fit the model\n# on everything\nmodel = fit(x)")
    assert [s.label for s in sg.statements] == ["x = 1", "model = fit(x)"]


def test_star_import_is_a_finding(graph_of):
    sg = graph_of("import numpy as np", "from os.path import *", "p = join('a', 'b')")
    assert [(finding.kind, finding.origin) for finding in sg.findings] == [("star import", "cell 2, line 1")]


def test_no_findings_without_star_import(graph_of):
    assert graph_of("from os.path import join", "p = join('a')").findings == []


@pytest.mark.parametrize(
    ("source", "kinds"),
    [
        pytest.param("for i in range(3):\n    x = i\n    y = x", ["block"], id="for"),
        pytest.param("with open('f') as fh:\n    a = fh.read()\n    b = a", ["block"], id="with"),
        pytest.param("if a:\n    b = 1\nelse:\n    b = 2", ["block"], id="if-else"),
        pytest.param("try:\n    import x\nexcept ImportError:\n    x = None", ["block"], id="try"),
        pytest.param("def f():\n    a = 1\n    return a", ["def"], id="def"),
        pytest.param("class A:\n    a = 1\n    def m(self):\n        return 1", ["class"], id="class"),
        pytest.param("@decorate\ndef f():\n    pass", ["def"], id="decorated-def"),
        pytest.param(
            "import a\nx = 1\nx += 1\nprint(x)\npass", ["import", "assign", "assign", "expr", "other"], id="simple"
        ),
    ],
)
def test_top_level_statements_are_nodes(graph_of, source, kinds):
    sg = graph_of(source)
    assert [s.kind for s in sg.statements] == kinds
    assert sorted(sg.graph.nodes) == list(range(len(kinds)))


def test_cell_with_several_statements_gives_several_nodes(graph_of):
    sg = graph_of("import numpy as np\n\nx = np.zeros(3)\ny = x + 1", "# comment only\nz = y\n")
    assert [(first_line(s), str(s.origin)) for s in sg.statements] == [
        ("import numpy as np", "cell 1, line 1"),
        ("x = np.zeros(3)", "cell 1, line 3"),
        ("y = x + 1", "cell 1, line 4"),
        ("z = y", "cell 2, line 2"),
    ]
    assert [s.index for s in sg.statements] == [0, 1, 2, 3]


def test_multiline_statement_origin_spans_its_lines(graph_of):
    sg = graph_of("x = 1", "\n\ndef f(a):\n    b = a\n    return b\n\nf(x)")
    assert [str(s.origin) for s in sg.statements] == ["cell 1, line 1", "cell 2, lines 3-5", "cell 2, line 7"]


def test_origins_count_markdown_cells(make_notebook):
    path = make_notebook([("# Title", (), "markdown"), "x = 1", ("text", (), "markdown"), "\ny = x"])
    sg = analyse(path)
    assert [str(s.origin) for s in sg.statements] == ["cell 2, line 1", "cell 4, line 2"]


SCRIPT_WITH_MAIN = """\
import numpy as np


def load():
    return np.zeros(3)


def main():
    X = load()
    model = fit(X)
    print(model)
    return 0


if __name__ == "__main__":
    main()
"""


def test_script_main_body_is_inlined_with_file_lines(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT_WITH_MAIN)
    sg = analyse(path)
    assert [(first_line(s), str(s.origin)) for s in sg.statements] == [
        ("import numpy as np", "line 1"),
        ("def load():", "lines 4-5"),
        ("X = load()", "line 9"),
        ("model = fit(X)", "line 10"),
        ("print(model)", "line 11"),
    ]
    assert edges(sg) == {
        ("def load():", "X = load()", "load"),
        ("import numpy as np", "X = load()", "np"),
        ("X = load()", "model = fit(X)", "X"),
        ("model = fit(X)", "print(model)", "model"),
    }
    assert statement(sg, "X = load()").defines == {"X"}


@pytest.mark.parametrize(
    "guard",
    [
        pytest.param('if __name__ == "__main__":\n    main()\n', id="plain"),
        pytest.param("if __name__ == '__main__':\n    sys.exit(main())\n", id="sys-exit"),
        pytest.param('if __name__ == "__main__": main()\n', id="one-line"),
    ],
)
def test_script_main_guard_forms(tmp_path, guard):
    path = tmp_path / "run.py"
    path.write_text("import sys\n\n\ndef main():\n    a = 1\n    b = a + 1\n\n\n" + guard)
    sg = analyse(path)
    assert [(first_line(s), str(s.origin)) for s in sg.statements] == [
        ("import sys", "line 1"),
        ("a = 1", "line 5"),
        ("b = a + 1", "line 6"),
    ]


def test_script_main_guard_keeps_its_other_statements(tmp_path):
    path = tmp_path / "run.py"
    path.write_text(textwrap.dedent("""\
            import numpy as np


            def main():
                x = np.zeros(2)
                print(x)


            if __name__ == "__main__":
                np.random.seed(0)
                main()
            """))
    sg = analyse(path)
    assert [(first_line(s), str(s.origin)) for s in sg.statements] == [
        ("import numpy as np", "line 1"),
        ("np.random.seed(0)", "line 10"),
        ("x = np.zeros(2)", "line 5"),
        ("print(x)", "line 6"),
    ]


def test_main_with_parameters_is_not_inlined(tmp_path):
    path = tmp_path / "run.py"
    path.write_text('def main(argv):\n    a = 1\n\n\nif __name__ == "__main__":\n    main([])\n')
    sg = analyse(path)
    assert [s.kind for s in sg.statements] == ["def", "expr"]
    assert edges(sg) == {("def main(argv):", "main([])", "main")}


def test_skip_tag_removes_cell_statements(graph_of):
    sg = graph_of("x = 1", "x = 99\ndebug = x", "y = x", tags={2: ("nbextract:skip",)})
    assert [first_line(s) for s in sg.statements] == ["x = 1", "y = x"]
    assert [s.index for s in sg.statements] == [0, 1]
    assert [(first_line(s), str(s.origin)) for s in sg.skipped] == [
        ("x = 99", "cell 2, line 1"),
        ("debug = x", "cell 2, line 2"),
    ]
    assert edges(sg) == {("x = 1", "y = x", "x")}


def test_skip_marker_comment_in_notebook_cell(make_notebook):
    path = make_notebook(["x = 1", "# nbextract: skip\nx = 99", "y = x"])
    sg = analyse(path)
    assert [first_line(s) for s in sg.skipped] == ["x = 99"]
    assert edges(sg) == {("x = 1", "y = x", "x")}


def test_stage_tag_is_carried_to_statements(graph_of):
    sg = graph_of("x = 1", "y = x\nz = y", tags={2: ("other", "nbextract:train")})
    assert [s.tag for s in sg.statements] == [None, "train", "train"]


@pytest.mark.parametrize(
    ("cells", "where"),
    [
        pytest.param(["x = 1", "y = (", "z = 2"], "cell 2, line 1", id="unclosed-paren"),
        pytest.param(["x = 1", "def f(:\n    pass"], "cell 2, line 1", id="bad-def"),
        pytest.param(["x = 1\n\n\nif x\n    y = 2"], "cell 1, line 4", id="missing-colon"),
        pytest.param(["x = 1", "  y = 2"], "cell 2, line 1", id="unexpected-indent"),
        pytest.param(["x = 1", "y = 2\n\U0001138e = 3"], "cell 2, line 2", id="identifier-libcst-validates"),
        pytest.param(["x = 1\n\tx\n    y = 1\n%time z = f(x)"], "cell 1, line 2", id="bad-dedent-with-magic"),
    ],
)
def test_syntax_error_names_cell_and_line(graph_of, cells, where):
    """A source of one cell fails at once; a broken cell among several is set aside as a finding, with its error."""
    try:
        sg = graph_of(*cells)
    except ReadError as error:
        assert len(cells) == 1
        message = str(error)
    else:
        message = str(sg.broken[0])
        assert ("syntax error", where) in {(finding.kind, finding.origin) for finding in sg.findings}
    assert f"test.ipynb, {where}: syntax error" in message


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("x = " + " + ".join(["1"] * 400), id="long-sum"),
        pytest.param("x = " + "-" * 600 + "1", id="many-unary-minus"),
        pytest.param("x = " + "[" * 150 + "]" * 150, id="nested-lists"),
        pytest.param("x = " + "f(" * 300 + ")" * 300, id="nested-calls"),
        pytest.param("%matplotlib inline\nx = " + " % ".join(["1"] * 400), id="long-chain-with-magic"),
    ],
)
def test_deep_code_builds_or_raises_read_error(graph_of, source):
    try:
        sg = graph_of(source)
    except ReadError as error:  # never a RecursionError
        assert str(error) == "test.ipynb: code nested too deeply to analyse"
    else:
        assert [s.defines for s in sg.statements] == [{"x"}]


def test_module_level_providers_do_all_their_work_in_visit_module():
    """ModuleLevelWrapper skips libcst's batched walk for these providers: it holds only while visit_Module is the
    one visitor method they define (a libcst release that adds another must fail here, not change the graph)."""
    for provider in graph.scopes.MODULE_LEVEL_PROVIDERS:
        methods = {name for name in dir(provider) if name.startswith(("visit_", "leave_"))}
        defined = {name for name in methods if not getattr(getattr(provider, name), "_is_no_op", False)}
        assert defined == {"visit_Module"}, (provider, defined)


SCOPES_SOURCE = """\
import numpy as np
from sklearn.linear_model import LogisticRegression as LR
X = np.ones((4, 2))
def f(a, k=3):
    total = [v * k for v in a]
    return total
class Model:
    size = 2
    def fit(self, data):
        global X
        X = data
        return lambda z: z + self.size
model = LR().fit(f(X), [0, 1, 0, 1])
"""


def scope_facts(wrapper) -> list:
    """Every scope's assignments and accesses, with their nodes' code, in a comparable form."""

    def code(node):
        return cst.Module(body=[]).code_for_node(node)

    scopes = {scope for scope in wrapper.resolve(ScopeProvider).values() if scope is not None}
    facts = []
    for scope in scopes:
        assignments = sorted((a.name, type(a).__name__, code(a.node)) for a in scope.assignments)
        accesses = sorted((code(a.node), sorted(r.name for r in a.referents)) for a in scope.accesses)
        facts.append((type(scope).__name__, assignments, accesses))
    return sorted(facts, key=repr)


def test_module_level_wrapper_gives_the_scopes_libcst_gives():
    module = cst.parse_module(SCOPES_SOURCE)
    assert scope_facts(graph.scopes.ModuleLevelWrapper(module)) == scope_facts(cst.MetadataWrapper(module))
