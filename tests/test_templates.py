"""Templates as a user feature: export, per-file override with fallback, one-line template errors, init."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dataclasses import FrozenInstanceError, fields
from functools import cached_property

import pytest
from jinja2 import meta

from nbextract import context, render
from nbextract.cli import main
from nbextract.scaffold import init_context, templates_doc

SOURCE = """\
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
clf = LogisticRegression(max_iter=300).fit(X_train, y_train)
y_pred = clf.predict(X_test)
"""


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "iris_model.py"
    path.write_text(SOURCE)
    return path


def variables_used_by_templates() -> set[str]:
    env = render.environment(None)
    used = set()
    for name in render.template_names():
        used |= meta.find_undeclared_variables(env.parse((render.builtin_dir() / name).read_text()))
    return used


def test_templates_doc_lists_every_variable_the_templates_use(tmp_path):
    assert main(["templates", "export", str(tmp_path / "tpl")]) == 0
    doc = (tmp_path / "tpl" / "TEMPLATES.md").read_text()
    used = variables_used_by_templates()
    assert used <= set(context.VARIABLES)
    for name in context.VARIABLES:
        assert f"| `{name}` |" in doc
    for name in render.template_names():
        assert f"`{name}`" in doc
        assert (tmp_path / "tpl" / name).is_file()


def test_context_of_init_has_exactly_the_documented_variables(tmp_path):
    assert set(init_context("pkg", tmp_path).variables()) == set(context.VARIABLES)


def declared_variables() -> list[str]:
    """The names TemplateContext declares: its fields and its derived properties."""
    derived = [name for name, value in vars(context.TemplateContext).items() if isinstance(value, cached_property)]
    return [field.name for field in fields(context.TemplateContext)] + derived


@pytest.mark.parametrize("name", declared_variables())
def test_templates_doc_has_a_row_for_every_field_with_its_type_and_meaning(name):
    kind, meaning = context.VARIABLES[name]
    assert kind and meaning and "\n" not in meaning
    assert f"| `{name}` | `{kind}` | {meaning} |" in templates_doc()


@pytest.mark.parametrize(
    "name, kind",
    [
        ("package", "str"),
        ("settings", "list[Setting]"),
        ("stages", "dict[str, StageCode]"),
        ("reference", "dict | None"),
        ("executed", "bool"),
        ("batched_infer", "dict | None"),
        ("stage_arguments", "dict[str, list[str]]"),
        ("torch_artifacts", "bool"),
    ],
)
def test_variable_types_are_the_declared_ones(name, kind):
    assert context.VARIABLES[name][0] == kind
    assert f"| `{name}` | `{kind}` |" in templates_doc()


@pytest.mark.parametrize("name", ["package", "artifacts", "env_prefix", "environment"], ids=["field", "list field", "derived", "derived list"])
def test_context_is_frozen(tmp_path, name):
    data = init_context("pkg", tmp_path)
    with pytest.raises(FrozenInstanceError):
        setattr(data, name, "changed")
    assert data.variables()[name] != "changed"


TABLE_SPEC = {"type": "pandas.DataFrame", "columns": [{"name": "age", "dtype": "int64"}, {"name": "city", "dtype": "object"}], "example": {"age": 41, "city": "Oslo"}}
SETTINGS = init_context("pkg", Path("pkg")).settings


@pytest.mark.parametrize(
    "change, name, value",
    [
        ({"package": "other"}, "env_prefix", "OTHER_"),
        ({"artifacts": [{"variable": "net", "path": "artifacts/net.pt", "format": "state_dict", "module": "Net"}]}, "rebuilt_modules", ["Net"]),
        ({"artifacts": [{"variable": "clf", "path": "artifacts/clf.pt", "format": "torch"}]}, "torch_artifacts", True),
        ({"train_main": "def main():\n    save_metrics(1)\n"}, "train_artifact_names", ["commit", "save_metrics", "staged"]),
        ({"dependencies": ["scikit-learn==1.5.0", "transformers[torch]==4.44.0"]}, "model_library", "transformers"),
        ({"input_spec": TABLE_SPEC, "output_spec": {"dtype": "int64"}}, "model_task", "tabular-classification"),
        ({"input_spec": {"items": ["str"]}, "output_spec": {"items": ["float"]}}, "model_task", "text-regression"),
        ({"input_spec": TABLE_SPEC, "output_spec": {"dtype": "int32"}, "artifact_types": {"km": "sklearn.cluster.KMeans"}}, "model_task", ""),
        ({"input_spec": TABLE_SPEC}, "example_tensors", [{"name": "age", "shape": [1], "datatype": "INT64", "data": [41]}, {"name": "city", "shape": [1], "datatype": "BYTES", "data": ["Oslo"]}]),
        ({}, "path_keys", ["artifacts_dir"]),
        ({}, "settings_tables", {"serving": SETTINGS, "training": []}),
    ],
    ids=["prefix", "rebuilt", "torch", "metrics", "library", "tabular task", "text task", "clustering has no task", "tensors", "paths", "tables"],
)
def test_a_changed_copy_of_the_context_derives_its_decisions_again(tmp_path, change, name, value):
    data = init_context("pkg", tmp_path)
    assert context.of({**data, **change}).variables()[name] == value
    assert context.of({**data}) == data


def test_a_mapping_naming_no_field_is_refused(tmp_path):
    with pytest.raises(TypeError, match="pakage"):
        render.render({**init_context("pkg", tmp_path), "pakage": "x"})


OLD_NAMES_TEMPLATE = """\
{{ package }} {{ env_prefix }} {{ version == version }} {{ python_version | length > 0 }}
{{ stage_calls.infer }} | {{ batched_infer.function }} {{ batched_infer["data"] }}
{{ ci_training.run }} {{ ci_training["condition"] == "" }} {{ profile_file }} {{ train_artifact_names | join(",") }}
{{ serve_requirements | length }} {{ torch_requirements }} {{ environment | length > 0 }} {{ train_model_names }}
{{ settings | map(attribute="key") | join(",") }} {{ stages.infer.function }} {{ input.name }} {{ output["origin"] }}
"""


def test_user_template_with_the_old_variable_names_renders(tmp_path):
    (tmp_path / "README.md.j2").write_text(OLD_NAMES_TEMPLATE)
    lines = render.render(init_context("pkg", tmp_path), tmp_path)["README.md"].splitlines()
    assert lines == [
        "pkg PKG_ True True",
        "infer(inputs=inputs) | infer inputs",
        "True True input_profile.json commit,staged",
        "4 [] True ['save_artifact']",
        "batch_size,device,artifacts_dir infer inputs postprocess()",
    ]


def test_edited_template_is_used_and_the_rest_fall_back(tmp_path, source):
    templates = tmp_path / "tpl"
    assert main(["templates", "export", str(templates)]) == 0
    readme = templates / "README.md.j2"
    readme.write_text("# {{ package }} by the platform team\n\nLicence: internal.\n")
    for other in templates.rglob("*.j2"):
        if other != readme:
            other.unlink()
    out = tmp_path / "out"
    assert main(["convert", str(source), "-o", str(out), "--template-dir", str(templates)]) == 0
    assert (out / "README.md").read_text() == "# iris_model by the platform team\n\nLicence: internal.\n"
    assert "def load_settings" in (out / "src" / "iris_model" / "config.py").read_text()


def test_pyproject_template_dir_is_the_default(tmp_path, source):
    templates = tmp_path / "team-templates"
    templates.mkdir()
    (templates / "README.md.j2").write_text("team readme for {{ package }}\n")
    (tmp_path / "pyproject.toml").write_text('[tool.nbextract]\ntemplate-dir = "team-templates"\n')
    out = tmp_path / "out"
    assert main(["convert", str(source), "-o", str(out)]) == 0
    assert (out / "README.md").read_text() == "team readme for iris_model\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("{{ pakage }}\n", "undefined template variable"),
        ("line one\n{% for x in %}\n", "template syntax error"),
        ("line one\n{{ cycler.__init__.__globals__.os.getpid() }}\n", "template refused by the sandbox"),
        ("line one\n{{ '{0.__init__.__globals__[os]}'.format(cycler) }}\n", "template refused by the sandbox"),
        ("line one\n{{ stages.clear() }}\n", "template refused by the sandbox"),
    ],
    ids=["undefined-variable", "syntax-error", "attribute-escape", "format-escape", "mutation"],
)
def test_broken_template_is_one_line_error_naming_file_and_line(tmp_path, source, capsys, text, message):
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "README.md.j2").write_text(text)
    out = tmp_path / "out"
    assert main(["convert", str(source), "-o", str(out), "--template-dir", str(templates)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "README.md.j2" in err and ", line " in err and message in err
    assert str(os.getpid()) not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_init_package_imports_and_its_tests_pass(tmp_path):
    out = tmp_path / "fraud_model"
    assert main(["init", "fraud_model", "-o", str(out)]) == 0
    for module in ("config", "model", "preprocess", "infer", "postprocess", "pipeline"):
        assert (out / "src" / "fraud_model" / f"{module}.py").is_file()
    assert (out / "training" / "train.py").is_file()
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    check = "import fraud_model; print(fraud_model.Predictor.from_config().predict([1, 2, 3]))"
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1, 2, 3]"
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=out, env=env, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_export_refuses_a_non_empty_folder_without_force(tmp_path, capsys):
    target = tmp_path / "tpl"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert main(["templates", "export", str(target)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["templates", "export", str(target), "--force"]) == 0
    assert (target / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("linked", ["README.md.j2", "src"], ids=["file", "folder"])
def test_template_linked_from_outside_its_folder_is_refused(tmp_path, source, capsys, linked):
    private = tmp_path / "private"
    (private / "__package__").mkdir(parents=True)
    for text_file in (private / "README.md.j2", private / "__package__" / "model.py.j2"):
        text_file.write_text("words of a private file\n")
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / linked).symlink_to(private / linked if linked != "src" else private)
    out = tmp_path / "out"
    assert main(["convert", str(source), "-o", str(out), "--template-dir", str(templates)]) == 2
    err = capsys.readouterr().err
    assert "outside its template folder" in err and "words of a private file" not in err
    assert not out.exists()


def converted_files(source: Path, out: Path, *flags: str) -> dict[str, str]:
    assert main(["convert", str(source), "-o", str(out), *flags]) == 0
    return {path.relative_to(out).as_posix(): path.read_text() for path in out.rglob("*") if path.is_file()}


def test_the_installed_package_carries_its_config_and_artifacts_and_training_runs_anywhere(tmp_path, source):
    """Issue 15: package data for config.toml and artifacts/, no os.chdir to the converting folder, no artifacts/ in
    .gitignore while the Dockerfile copies it."""
    files = converted_files(source, tmp_path / "out")
    assert '"iris_model.bundled" = ["config.toml", "artifacts/**/*"]' in files["pyproject.toml"]
    assert 'BUNDLED = PACKAGE_DIR / "bundled"' in files["src/iris_model/config.py"]
    assert "chdir" not in files["training/train.py"] and "workdir" not in files["config.toml"]
    assert "artifacts" not in files[".gitignore"] and "COPY artifacts" in files["Dockerfile"]


SAVED_FORMS = [
    ("joblib", [], "artifacts/clf.joblib", "joblib"),
    ("skops", ["--skops"], "artifacts/clf.skops", "skops"),
]


@pytest.mark.parametrize("flags, path, kind", [case[1:] for case in SAVED_FORMS], ids=[case[0] for case in SAVED_FORMS])
def test_skops_is_the_format_of_joblib_state_only_when_asked_and_only_then_a_dependency(tmp_path, source, flags, path, kind):
    """Issue 22: --skops turns what would be joblib into skops; the package holds skops_state.py and requires skops
    only then, and nothing else of it names skops."""
    files = converted_files(source, tmp_path / "out", *flags)
    manifest = json.loads(files["nbextract.json"])
    assert manifest["artifacts"] == [{"variable": "clf", "path": path, "format": kind}]
    asked = bool(flags)
    assert ("src/iris_model/skops_state.py" in files) is asked
    assert ('"skops==' in files["pyproject.toml"]) is asked
    assert ("skops" in files["src/iris_model/model.py"]) is asked
    assert ("skops" in files["README.md"]) is asked and ("skops" in files["CONVERSION.md"]) is asked


def test_config_has_serving_and_training_tables_and_no_device_without_torch(tmp_path, source):
    files = converted_files(source, tmp_path / "out")
    config = files["config.toml"]
    assert config.index("[serving]") < config.index("[training]")
    assert "random_state = 0" in config.split("[training]")[1]
    assert "device" not in config and "resolve_device(" not in files["training/train.py"]


def test_env_example_lists_only_the_secrets_code_reads(tmp_path):
    path = tmp_path / "keyed.py"
    unused = 'WANDB_API_KEY = "a3f9c0d1e2b3a4f5c6d7e8f9a0b1c2d3e4f5a6b7"\n'
    path.write_text(SOURCE.replace("X, y = load_iris", unused + "X, y = load_iris"))
    files = converted_files(path, tmp_path / "out")
    assert "WANDB_API_KEY" not in files[".env.example"]
    assert "WANDB_API_KEY" in files["nbextract.json"]
