"""Whatever research notebook it is given, convert() writes a project whose Python compiles, or raises NbextractError
and leaves nothing behind: no output folder and no `.NAME.*.tmp` staging folder beside it.

Notebooks are generated from a grammar of research-style cells (imports, sklearn loaders or literal arrays, splits,
scalers, models, post-processing, EDA, prints, plots, helpers reading globals, reassignments, magics, cell tags, dead
cells and some junk). Nothing is executed or trained: the property is about conversion alone.

The suite runs a bounded number of examples; `NBEXTRACT_FUZZ_LONG=1` selects the "nbextract-fuzz-long" profile
(10,000 examples, or NBEXTRACT_FUZZ_EXAMPLES) for a longer run outside the suite, e.g.

    NBEXTRACT_FUZZ_LONG=1 NBEXTRACT_FUZZ_LOG=/tmp/fuzz-long.log python -m pytest tests/test_fuzz_convert.py -k property -x

(NBEXTRACT_FUZZ_LOG, optional, gets a progress line every 100 examples.)
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nbextract.convert import convert
from nbextract.errors import NbextractError
from nbextract.options import Options

HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("nbextract-fuzz-suite", max_examples=40, deadline=None, suppress_health_check=HEALTH)
settings.register_profile(
    "nbextract-fuzz-long", max_examples=int(os.environ.get("NBEXTRACT_FUZZ_EXAMPLES", "10000")), deadline=None, suppress_health_check=HEALTH, print_blob=True
)
PROFILE = "nbextract-fuzz-long" if os.environ.get("NBEXTRACT_FUZZ_LONG") == "1" else "nbextract-fuzz-suite"
SETTINGS = settings(settings.get_profile(PROFILE))

# --------------------------------------------------------------------------------------------------------------------
# The grammar. A notebook is a research pipeline skeleton (each step optional, with alternatives) interleaved with
# noise fragments, cut into cells at random, each cell maybe tagged, maybe under a cell magic, maybe dead or junk.
# Placeholders: {M} model, {S} scaler, {Xtr}/{Xte} the (maybe scaled) train/test features, {n} a small int,
# {t} a threshold, {est} an estimator constructor, {scaler_cls} a scaler class, {loader} a sklearn loader.
# --------------------------------------------------------------------------------------------------------------------

IMPORTS = [
    "import numpy as np",
    "import pandas as pd",
    "import matplotlib.pyplot as plt",
    "import os",
    "from sklearn.model_selection import train_test_split",
    "from sklearn.preprocessing import StandardScaler, MinMaxScaler, LabelEncoder",
    "from sklearn.preprocessing import StandardScaler",
    "from sklearn.linear_model import LogisticRegression, Ridge",
    "from sklearn.ensemble import RandomForestClassifier",
    "from sklearn.neighbors import KNeighborsClassifier",
    "from sklearn.svm import SVC",
    "from sklearn.decomposition import PCA",
    "from sklearn.pipeline import make_pipeline",
    "from sklearn.datasets import load_iris, load_wine, load_breast_cancer, load_digits, load_diabetes",
    "from sklearn.metrics import accuracy_score, classification_report, roc_auc_score",
    "import sklearn",
    "from sklearn import datasets",
    "import joblib",
]

DATA = [
    "X, y = {loader}(return_X_y=True)",
    "data = {loader}()\nX, y = data.data, data.target",
    "data = {loader}()\nX = data.data\ny = data.target",
    "X, y = datasets.{loader}(return_X_y=True)",
    "X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [1.5, 0.5], [2.5, 3.5]])\ny = np.array([0, 1, 0, 1, 0, 1])",
    "X = [[0, 1], [1, 0], [1, 1], [0, 0]]\ny = [0, 1, 1, 0]",
    "df = pd.DataFrame({loader}(as_frame=True).frame)\nX = df.drop(columns=['target'])\ny = df['target']",
    "df = pd.read_csv('data/train.csv')\nX = df.drop('label', axis=1).values\ny = df['label'].values",
    "X = np.random.rand({n}0, 4)\ny = (X[:, 0] > 0.5).astype(int)",
]

CONFIG = [
    "RANDOM_STATE = {n}",
    "SEED = {n}\nnp.random.seed(SEED)",
    "TEST_SIZE = 0.{n}",
    "THRESHOLD = {t}",
    "N_ESTIMATORS = {n}0",
    "DATA_DIR = 'data'",
    "device = 'cuda:0'",
    "BATCH_SIZE = {n}2",
    "API_KEY = 'sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD'",
    "DB_URL = 'postgresql://user:Pa55w0rd{n}@db.internal:5432/x'",
    "params = {{'C': 0.{n}, 'max_iter': 500}}",
]

SPLIT = [
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state={n})",
    "X_train, X_test, y_train, y_test = train_test_split(\n    X, y, test_size=TEST_SIZE, random_state=RANDOM_STATE\n)",
    "X_train, X_test = X[:{n}0], X[{n}0:]\ny_train, y_test = y[:{n}0], y[{n}0:]",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)",
]

SCALE = [
    "{S} = {scaler_cls}()\n{S}.fit(X_train)\nX_train_s = {S}.transform(X_train)\nX_test_s = {S}.transform(X_test)",
    "{S} = {scaler_cls}()\nX_train_s = {S}.fit_transform(X_train)\nX_test_s = {S}.transform(X_test)",
    "mu = X_train.mean(axis=0)\nsigma = X_train.std(axis=0)\nX_train_s = (X_train - mu) / sigma\nX_test_s = (X_test - mu) / sigma",
    "X_train_s = X_train\nX_test_s = X_test",
    "pca = PCA(n_components=2)\nX_train_s = pca.fit_transform(X_train)\nX_test_s = pca.transform(X_test)",
]

FIT = [
    "{M} = {est}\n{M}.fit({Xtr}, y_train)",
    "{M} = {est}.fit({Xtr}, y_train)",
    "{M} = make_pipeline({scaler_cls}(), {est})\n{M}.fit(X_train, y_train)",
    "{M} = {est}\n{M}.fit({Xtr}, y_train)\nprint('train acc', {M}.score({Xtr}, y_train))",
    "for c in [0.1, 1.0, 10.0]:\n    {M} = LogisticRegression(C=c, max_iter=1000)\n    {M}.fit({Xtr}, y_train)",
]

PREDICT = [
    "pred = {M}.predict({Xte})",
    "proba = {M}.predict_proba({Xte})",
    "proba = {M}.predict_proba({Xte})[:, 1]",
    "y_pred = {M}.predict({Xte})",
    "{M}.predict({Xte})",
    "scores = {M}.decision_function({Xte})",
    "pred = predict_fn({Xte})",
    "pred = [{M}.predict([row])[0] for row in {Xte}]",
]

POST = [
    "labels = proba.argmax(axis=1)",
    "labels = np.argmax(proba, axis=1)",
    "y_pred = (proba > {t}).astype(int)",
    "y_pred = (proba > THRESHOLD).astype(int)",
    "y_pred = np.where(proba[:, 1] > THRESHOLD, 1, 0)",
    "X_back = {S}.inverse_transform({Xte})",
    "names = data.target_names[pred]",
    "out = pd.Series(pred).map({{0: 'no', 1: 'yes'}})",
    "pred = pred.tolist()",
    "pred = postprocess(pred)",
    "result = {{'label': pred, 'n': len(pred)}}",
]

EDA = [
    "X.shape",
    "df.head()",
    "df.describe().T",
    "np.bincount(y)",
    "print(X.shape, y.shape)",
    "print(accuracy_score(y_test, pred))",
    "print(classification_report(y_test, y_pred))",
    "roc_auc_score(y_test, proba)",
    "display(df.head())",
    "{M}",
    "{M}.coef_",
    "len(X_train), len(X_test)",
    "print(f'{{len(X)}} rows')",
    "pd.Series(y).value_counts()",
]

PLOTS = [
    "plt.plot(X[:, 0])\nplt.show()",
    "plt.figure(figsize=(6, 3))\nplt.hist(proba, bins=20)\nplt.show()",
    "plt.scatter(X_test[:, 0], X_test[:, 1], c=pred)\nplt.title('pred')\nplt.savefig('out.png')",
    "fig, ax = plt.subplots()\nax.plot(y_test)\nplt.show()",
]

HELPERS = [
    "def prep(a):\n    return (a - mu) / sigma",
    "def predict_fn(a):\n    return {M}.predict({S}.transform(a))",
    "def postprocess(p):\n    return (p > THRESHOLD).astype(int)",
    "def load():\n    return {loader}(return_X_y=True)",
    "def helper(a):\n    global counter\n    counter += 1\n    return a * SCALE",
    "def evaluate():\n    print(accuracy_score(y_test, {M}.predict({Xte})))",
    "class Wrapper:\n    def __init__(self, m):\n        self.m = m\n    def predict(self, a):\n        return self.m.predict(a)",
    "wrapped = Wrapper({M})\npred = wrapped.predict({Xte})",
    "X_test_s = prep(X_test)",
    "counter = 0\nSCALE = {n}",
]

REASSIGN = [
    "y = 1 - y",
    "X_test = X_test[:{n}]",
    "y_test = y_test[:{n}]",
    "{M} = RandomForestClassifier(n_estimators={n})",
    "{M} = None",
    "X = X.astype('float32')",
    "X_train_s = X_train_s * 1.0",
    "pred = pred",
    "proba = proba.round(3)",
    "del df",
    "X_test, y_test = X_train, y_train",
    "X += 1",
    "{S}.fit(X_test)",
    "THRESHOLD = 0.{n}",
    "X_test = np.array(X_test)",
    "joblib.dump({M}, 'model.joblib')",
    "{M} = joblib.load('model.joblib')",
    "os.environ['SEED'] = '{n}'",
]

LINE_MAGICS = [
    "%matplotlib inline",
    "!pip install x",
    "!pip install scikit-learn==1.4 pandas",
    "%load_ext autoreload\n%autoreload 2",
    "%time {M}.fit({Xtr}, y_train)",
    "pred = %time {M}.predict({Xte})",
    "%env SEED={n}",
    "%pip install numpy",
    "files = !ls",
    "%timeit {M}.predict({Xte})",
    "{M}?",
    "%who",
]

CELL_MAGICS = ["%%time", "%%capture", "%%timeit", "%%writefile helper.py", "%%bash", "%%html"]

JUNK = [
    "def f(:",
    "X_train = (",
    "pred = model.predict(X_test",
    "    indented = 1",
    "return pred",
    "}}",
    "\t",
    "x = 1 \\",
    "print 'python 2'",
    "# just a comment",
    "pass",
    "...",
    "'''unterminated",
    "X = X\n%%time\nX = X",
    "get_ipython().run_line_magic('matplotlib', 'inline')",
    "if True:\npred = 1",
    "lambda: (yield)",
    "\u00a0x = 1",
    "x = 1;;",
]

MARKDOWN = ["# Title", "## Data\nSome *text* `pred = model.predict(X)`", "", "%matplotlib inline", "```python\nx = 1\n```"]

TAGS = ["nbextract:skip", "nbextract:train", "nbextract:infer", "nbextract:preprocess", "nbextract:postprocess",
        "nbextract:config", "nbextract:init", "nbextract:bogus", "parameters", "other"]

MODELS = ["model", "clf", "est", "lr", "rf", "m"]
SCALERS = ["scaler", "sc", "norm"]
SCALER_CLASSES = ["StandardScaler", "MinMaxScaler"]
ESTIMATORS = [
    "LogisticRegression(max_iter=1000)",
    "LogisticRegression(C=params['C'], random_state=RANDOM_STATE)",
    "RandomForestClassifier(n_estimators=N_ESTIMATORS, random_state={n})",
    "KNeighborsClassifier(3)",
    "SVC(probability=True)",
    "Ridge()",
    "LogisticRegression(**params)",
]
LOADERS = ["load_iris", "load_wine", "load_breast_cancer", "load_digits", "load_diabetes"]
STEMS = ["nb", "My Notebook-v2", "1st try", "class", "analysis", "über_model", "import", "x" * 40, "__init__", "a.b"]


@st.composite
def fragment(draw, pool: list[str]) -> str:
    """One fragment of `pool`, its placeholders filled in (each fragment draws its own names: reassignments)."""
    template = draw(st.sampled_from(pool))
    names = {
        "M": draw(st.sampled_from(MODELS)),
        "S": draw(st.sampled_from(SCALERS)),
        "Xtr": draw(st.sampled_from(["X_train", "X_train_s"])),
        "Xte": draw(st.sampled_from(["X_test", "X_test_s", "X"])),
        "n": draw(st.integers(1, 9)),
        "t": draw(st.sampled_from(["0.5", "0.35", "0.9"])),
        "scaler_cls": draw(st.sampled_from(SCALER_CLASSES)),
        "loader": draw(st.sampled_from(LOADERS)),
    }
    names["est"] = draw(st.sampled_from(ESTIMATORS)).format(**names)
    return template.format(**names)


SKELETON = [IMPORTS, IMPORTS, IMPORTS, CONFIG, DATA, SPLIT, SCALE, HELPERS, FIT, PREDICT, POST]
NOISE = st.one_of(
    fragment(EDA), fragment(PLOTS), fragment(HELPERS), fragment(REASSIGN), fragment(LINE_MAGICS), fragment(CONFIG),
    fragment(IMPORTS), fragment(PREDICT), fragment(POST), fragment(FIT),
)


@st.composite
def notebook_cells(draw) -> list[tuple[str, tuple[str, ...], str]]:
    """(source, tags, cell_type) triples: a pipeline skeleton, noise mixed in, cut into cells and decorated."""
    fragments: list[str] = []
    for pool in SKELETON:
        if draw(st.integers(0, 9)) < 8:  # each step usually present
            fragments.append(draw(fragment(pool)))
        fragments.extend(draw(st.lists(NOISE, max_size=2)))
    if draw(st.integers(0, 3)) == 0:  # sometimes a consistent order is broken
        fragments = draw(st.permutations(fragments))
    if draw(st.integers(0, 4)) == 0:  # sometimes junk somewhere
        fragments.insert(draw(st.integers(0, len(fragments))), draw(fragment(JUNK)))
    cells: list[tuple[str, tuple[str, ...], str]] = []
    position = 0
    while position < len(fragments):
        size = draw(st.integers(1, 4))
        chunk = fragments[position : position + size]
        position += size
        source = "\n".join(chunk)
        decoration = draw(st.integers(0, 19))
        if decoration == 0:
            source = f"{draw(st.sampled_from(CELL_MAGICS))}\n{source}"
        elif decoration == 1:
            source = f"# nbextract: {draw(st.sampled_from(['skip', 'train', 'infer', 'postprocess', 'config', 'nope']))}\n{source}"
        elif decoration == 2:
            source = "\n".join(f"# {line}" for line in source.splitlines())  # a dead, commented-out cell
        elif decoration == 3:
            source = "if False:\n" + "\n".join(f"    {line}" for line in source.splitlines())  # dead code
        elif decoration == 4:
            source = source + "\n"
        tags = tuple(draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))) if draw(st.integers(0, 3)) == 0 else ()
        cells.append((source, tags, "code"))
        extra = draw(st.integers(0, 11))
        if extra == 0:
            cells.append((draw(st.sampled_from(MARKDOWN)), (), "markdown"))
        elif extra == 1:
            cells.append(("", (), "code"))
        elif extra == 2:
            cells.append(("x = 1", (), "raw"))
        elif extra == 3:
            cells.append(("   \n\n", (), "code"))
    if draw(st.integers(0, 29)) == 0:  # markdown only
        cells = [(source, (), "markdown") for source, _, _ in cells]
    return cells


def write_notebook(cells, path: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell, "raw": nbformat.v4.new_raw_cell}
    for source, tags, kind in cells:
        cell = make[kind](source)
        if tags:
            cell.metadata["tags"] = list(tags)
        notebook.cells.append(cell)
    nbformat.write(notebook, str(path))
    return path


def leftovers(out: Path) -> list[str]:
    """Staging (`.NAME.*.tmp`) or retired (`.NAME.*.old`) folders left beside OUT."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.") and p.name.endswith((".tmp", ".old")))


PROGRESS_LOG = os.environ.get("NBEXTRACT_FUZZ_LOG")  # long runs: a file that gets a line every 100 examples
OUTCOMES: collections.Counter = collections.Counter()


def log_progress(outcome: str) -> None:
    OUTCOMES[outcome] += 1
    total = sum(OUTCOMES.values())
    if PROGRESS_LOG and total % 100 == 0:
        with open(PROGRESS_LOG, "a", encoding="utf-8") as log:
            log.write(f"{time.strftime('%H:%M:%S')} pid {os.getpid()}: {total} examples run: {dict(OUTCOMES)}\n")


def check_conversion(cells, stem: str, root: Path) -> None:
    """The property (check_project), each example in its own folder, removed afterwards (long runs would fill the disk)."""
    folder = Path(tempfile.mkdtemp(dir=root))
    try:
        log_progress(check_project(cells, stem, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_project(cells, stem: str, folder: Path) -> str:
    """A compiling project with a sane manifest, or an NbextractError that leaves nothing behind; which one it was."""
    source = write_notebook(cells, folder / f"{stem}.ipynb")
    out = folder / "out" / "project"
    try:
        convert(Options(source=source, output=out, force=True))
    except NbextractError as error:
        event(f"raised {type(error).__name__}: {re.sub(r'cell [0-9]+|line [0-9]+', '#', error.message.split(';')[0])[:60]}")
        assert error.exit_code in (1, 2), error
        assert str(error)
        assert not out.exists(), f"{error!r} left the output folder {out}"
        assert not out.parent.exists() or not leftovers(out), leftovers(out)
        return "raised"
    event("converted")
    assert out.is_dir()
    assert not leftovers(out), leftovers(out)
    python = sorted(out.rglob("*.py"))
    assert python, "no .py file written"
    for path in python:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    manifest = json.loads((out / "nbextract.json").read_text(encoding="utf-8"))
    assert isinstance(manifest, dict)
    for key in ("inputs", "outputs"):
        assert manifest.get(key), f"manifest names no {key}"
        assert all(isinstance(entry.get("name"), str) and entry["name"] for entry in manifest[key]), manifest[key]
    return "converted"


@SETTINGS
@given(cells=notebook_cells(), stem=st.sampled_from(STEMS))
def test_convert_property(tmp_path, cells, stem):
    check_conversion(cells, stem, tmp_path)
