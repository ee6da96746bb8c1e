"""Requirements of the generated project: imports mapped to distributions and pinned, `!pip install` specifiers and
`[tool.nbextract.dependencies]` honoured, plotting never an inference dependency."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from nbextract.convert import convert
from nbextract.dependencies import Declared, distribution_of, implied_modules, lists_package, may_list, pinned
from nbextract.options import Options

JOBLIB = f"joblib=={metadata.version('joblib')}"
SKLEARN = f"scikit-learn=={metadata.version('scikit-learn')}"

CASES = [
    # import lines, declared installs, overrides, expected
    (["import joblib"], [], {}, [JOBLIB]),
    (["from sklearn.linear_model import LogisticRegression"], [], {}, [SKLEARN]),
    (["import os", "import json", "from pathlib import Path"], [], {}, []),
    (["import matplotlib.pyplot as plt", "import seaborn as sns"], [], {}, []),
    (["import joblib"], ["joblib>=1.0,<9"], {}, ["joblib>=1.0,<9"]),
    (["import joblib"], ["joblib"], {}, [JOBLIB]),
    (["import sklearn"], ["scikit_learn==1.0.0"], {}, ["scikit_learn==1.0.0"]),
    (["import cv2"], [], {"cv2": "opencv-python-headless==4.10.0.84"}, ["opencv-python-headless==4.10.0.84"]),
    (["import joblib"], ["joblib==1.0"], {"joblib": "joblib~=1.3"}, ["joblib~=1.3"]),
    (["import not_installed_anywhere"], [], {}, ["not_installed_anywhere"]),
    (["import not_installed_anywhere"], ["not-installed-anywhere"], {}, ["not-installed-anywhere"]),
    (["import sklearn"], ["git+https://example.com/x.git", "--upgrade"], {}, [SKLEARN]),
]


@pytest.mark.parametrize("imports, installs, overrides, expected", CASES)
def test_requirements(imports, installs, overrides, expected):
    assert pinned(imports, (), Declared.of(installs, overrides)) == expected


def test_pip_install_and_pyproject_override_reach_the_generated_project(make_notebook, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.nbextract.dependencies]\nnumpy = "numpy>=1.20"\n')
    source = make_notebook(
        [
            "!pip install 'scikit-learn>=1.0' seaborn==0.13.2",
            "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\nimport seaborn as sns",
            "X = np.arange(20.0).reshape(10, 2)\ny = np.array([0, 1] * 5)",
            "clf = LogisticRegression().fit(X, y)",
            "sns.histplot(X[:, 0])",
            "X_new = np.array([[1.0, 2.0]])\nscaled = np.log1p(X_new)\npred = clf.predict(scaled)",
        ]
    )
    convert(Options(source=source, output=tmp_path / "pkg", input_var="X_new"))
    pyproject = (tmp_path / "pkg" / "pyproject.toml").read_text()
    assert '"scikit-learn>=1.0"' in pyproject, "the source's own specifier is kept"
    assert '"numpy>=1.20"' in pyproject, "[tool.nbextract.dependencies] overrides the installed pin"
    assert "seaborn" not in pyproject and "matplotlib" not in pyproject
    manifest = json.loads((tmp_path / "pkg" / "nbextract.json").read_text())
    assert manifest["artifacts"][0]["variable"] == "clf"


def test_a_local_version_label_is_not_pinned():
    """torch 2.13.0+cpu is installed here; `torch==2.13.0+cpu` would not resolve from an index."""
    pytest.importorskip("torch")
    assert metadata.version("torch").endswith("+cpu")
    assert f"torch=={metadata.version('torch').split('+')[0]}" in pinned(["import torch"])


def test_torch_brings_numpy_which_its_wheel_does_not_require():
    """`tensor.numpy()` and `torch.from_numpy` fail without numpy; a fresh venv given only torch has none."""
    pytest.importorskip("torch")
    assert pinned(["import torch"]) == [f"numpy=={metadata.version('numpy')}", f"torch=={metadata.version('torch').split('+')[0]}"]


@pytest.mark.parametrize("module", ["numpy", "sklearn", "joblib", "yaml", "PIL", "torch", "not_installed_anywhere"])
def test_distribution_of_is_the_first_distribution_packages_distributions_names(module):
    assert distribution_of(module) == (metadata.packages_distributions().get(module) or [None])[0]


def test_distribution_of_agrees_with_packages_distributions_for_every_installed_module():
    mapped = metadata.packages_distributions()
    first = {module: names[0] for module, names in mapped.items()}
    assert {module: distribution_of(module) for module in mapped} == first


RECORDS = [
    # RECORD text, module, may list it, lists a module/....py file
    ("numpy/__init__.py,sha256=x,1\n", "numpy", True, True),
    ("pandas/core/arrays/numpy_.py,sha256=x,1\n", "numpy", False, False),
    ("six.py,sha256=x,1\n", "six", True, False),
    ('"./numpy/a,b.py",sha256=x,1\n', "numpy", True, False),
    ("numpy/.libs/x.so,sha256=x,1\n", "numpy", True, False),
]


@pytest.mark.parametrize("record, module, may, package", RECORDS)
def test_record_pre_checks(record, module, may, package):
    assert (may_list(record, module), lists_package(record, module)) == (may, package)


def test_a_call_returning_frames_needs_pandas_though_nothing_imports_it(graph_of):
    """`load_wine(as_frame=True)` fails without pandas in a venv that has only what the code imports."""
    assert implied_modules(graph_of("wine = load_wine(as_frame=True)").statements) == ("pandas",)
    assert implied_modules(graph_of("wine = load_wine(as_frame=False)").statements) == ()
    assert implied_modules(graph_of("as_frame = True\nwine = load_wine(frame=as_frame)").statements) == ()
