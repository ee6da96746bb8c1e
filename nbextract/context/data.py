"""The TemplateContext the templates receive: its fields (what the conversion found, each with its meaning), the
decisions derived from them as properties, and VARIABLES, the name, type and meaning of each, which TEMPLATES.md lists."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property
from typing import Any

from .. import __version__, dependencies
from ..rewrite import TORCH_FORMATS, StageCode
from .requirements import SERVE_REQUIREMENTS, torch_distributions, unpinned_serve_requirements
from .settings import SETTING_TABLES, Setting, training_in_ci
from .specs import column_tensor, input_kind, output_kind
from .stages import arguments, batched

PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def variable(meaning: str, default: object = MISSING, factory: Callable[[], object] | None = None) -> Any:
    """A field of TemplateContext: its one-line meaning, which TEMPLATES.md prints, and its default, if any."""
    if factory is not None:
        return field(default_factory=factory, metadata={"doc": meaning})
    return field(default=default, metadata={"doc": meaning})


@dataclass(frozen=True)
class TemplateContext(Mapping[str, Any]):
    """What the templates receive. Each field (what the conversion found) and each derived property (a decision made
    from the fields) is a top-level template variable; TEMPLATES.md's table is made from them (VARIABLES). As a
    mapping, name -> value of the fields, for code written against the dict the context used to be."""

    package: str = variable("the Python package name (NAME)")
    source: dict = variable("path, name, kind and sha256 of the converted source")
    settings: list[Setting] = variable("config entries: key, value, type, env, origin, affects, path, table, use, toml, default")
    stages: dict[str, StageCode] = variable("preprocess/infer/postprocess: function, params, returns, code, imports, helper_names, origins")
    input: dict = variable("name, origin and code (secrets redacted) of the statement binding the raw input")
    output: dict = variable("name, origin and code (secrets redacted) of the statement binding the final output")
    manifest: dict = variable("the content of nbextract.json")
    version: str = variable("the nbextract version that generated the project", __version__)
    python_version: str = variable("major.minor of the Python that ran the conversion", PYTHON_VERSION)
    artifacts: list[dict] = variable("fitted state: variable, path, format (joblib, skops, torch, state_dict, pretrained), module, origin", factory=list)
    secrets: list[dict] = variable("env, kind and origin of each secret the source held (never its value)", factory=list)
    train_uses_secrets: bool = variable("whether training/train.py reads a secret from the environment", False)
    read_secrets: list[str] = variable("the secret environment variables the package or training/train.py reads", factory=list)
    helpers: str = variable("code of functions, classes and constants the package needs (empty: no helpers.py)", "")
    helper_imports: list[str] = variable("import lines of helpers.py", factory=list)
    helper_names: list[str] = variable("names helpers.py defines", factory=list)
    helper_globals: list[str] = variable("fitted state that helper functions read as module globals", factory=list)
    train_main: str = variable("code of training/train.py's main() (empty: no training script)", "")
    train_imports: list[str] = variable("import lines of training/train.py", factory=list)
    train_helper_names: list[str] = variable("names train.py imports from the package's helpers", factory=list)
    metrics: list[dict] = variable("name and origin of each metric of the source's evaluation that training/train.py records into artifacts/metrics.json", factory=list)
    left_out: list[dict] = variable("origin, comment and reason of each comment left out of the package (commented-out code, remarks about the author's machine)", factory=list)
    dependencies: list[str] = variable("pinned requirements of the inference package", factory=list)
    training_requirements: list[str] = variable("pinned requirements of training only", factory=list)
    statements: list[dict] = variable("per statement: origin, code label, stage, reason", factory=list)
    findings: list[dict] = variable("kind, origin and message of each finding", factory=list)
    magics: list[dict] = variable("cell, line, magic, action and detail of each magic", factory=list)
    graph_mermaid: str = variable("the statement graph in Mermaid, coloured by stage", "flowchart TD\n")
    reference: dict | None = variable("name and origin of the training data training/train.py profiles (X_train for X_test)", None)
    seeds: list[str] = variable("the seed-setting statements training replays (redacted code)", factory=list)
    executed: bool = variable("whether --execute ran the source: artifacts, golden tests, spec and benchmark come from that run", False)
    input_spec: dict = variable("the input spec recorded by --execute: type, shape, columns/dtype, ranges, example (empty without)", factory=dict)
    output_spec: dict = variable("the same description of the output recorded by --execute (empty without)", factory=dict)
    artifact_types: dict[str, str] = variable("variable -> type of each fitted state, recorded by --execute", factory=dict)
    benchmark: str = variable("the benchmark table (markdown) measured by --execute, empty without", "")
    runtime_python: str = variable("the Python version the source ran under with --execute (else the converting one)", "")

    @cached_property
    def env_prefix(self) -> str:
        """prefix of the environment variables that override settings, e.g. NAME_"""
        return f"{self.package.upper()}_"

    @cached_property
    def stage_calls(self) -> dict[str, str]:
        """the call expression of each stage on one line, `function(name=value, ...)`"""
        return {stage: f"{code.function}({', '.join(arguments(code.params))})" for stage, code in self.stages.items()}

    @cached_property
    def stage_arguments(self) -> dict[str, list[str]]:
        """the `name=value` arguments pipeline.py passes each stage: a local, the device, an artifact or a setting"""
        return {stage: arguments(code.params) for stage, code in self.stages.items()}

    @cached_property
    def batched_infer(self) -> dict | None:
        """function (a partial of infer), data name and partial (that partial's arguments, empty when infer takes only the data) when infer runs in batches"""
        return batched(self.stages["infer"])

    @cached_property
    def ci_training(self) -> dict:
        """run: whether the generated CI trains; condition: the files it needs in the repository"""
        return training_in_ci(self.train_main, self.settings)

    @cached_property
    def train_model_names(self) -> list[str]:
        """names train.py imports from the package's model.py: those its main() calls"""
        return [name for name in TRAIN_MODEL_NAMES if f"{name}(" in self.train_main]

    @cached_property
    def train_artifact_names(self) -> list[str]:
        """names train.py imports from the package's artifacts.py (staging, committing a versioned set, metrics)"""
        return sorted(["commit", "staged", *(name for name in TRAIN_METRIC_NAMES if f"{name}(" in self.train_main)])

    @cached_property
    def profile_file(self) -> str:
        """file name, in artifacts/, of the input spec and training statistics (checks.py)"""
        return PROFILE_FILE

    @cached_property
    def environment(self) -> list[str]:
        """name==version of every distribution the dependencies need, as installed when converting (requirements.in, which lock.sh locks)"""
        return dependencies.environment(self.dependencies)

    @cached_property
    def torch_requirements(self) -> list[str]:
        """the torch, torchvision and torchaudio requirements of the package (the image and the lock take their CPU wheels)"""
        return torch_distributions(self.dependencies)

    @cached_property
    def serve_requirements(self) -> list[str]:
        """requirements of the [serve] extra (HTTP serving), locked with the inference environment"""
        return list(SERVE_REQUIREMENTS)

    @cached_property
    def serve_requirements_unpinned(self) -> list[str]:
        """the [serve] requirements requirements.in adds: those the dependencies and their environment do not pin"""
        return unpinned_serve_requirements([*self.dependencies, *self.environment])

    @cached_property
    def setting_keys(self) -> list[str]:
        """the keys of the settings, in config.toml's order (config.py checks a device only when `device` is one)"""
        return [setting.key for setting in self.settings]

    @cached_property
    def path_keys(self) -> list[str]:
        """the keys of the settings that are paths, which resolve against config.toml's folder"""
        return [setting.key for setting in self.settings if setting.path]

    @cached_property
    def settings_tables(self) -> dict[str, list[Setting]]:
        """serving and training: the settings of each config.toml table, in order (a table may have none)"""
        return {table: [setting for setting in self.settings if setting.table == table] for table in SETTING_TABLES}

    @cached_property
    def requirement_names(self) -> list[str]:
        """the distribution names of the dependencies, as they are written (torch for torch==2.3.1)"""
        return [re.split(r"[=<>\[]", requirement, maxsplit=1)[0].strip() for requirement in self.dependencies]

    @cached_property
    def model_library(self) -> str:
        """the model card's library_name: the first of MODEL_LIBRARIES the dependencies name (empty: none of them)"""
        return next((library for library in MODEL_LIBRARIES if library in self.requirement_names), "")

    @cached_property
    def model_task(self) -> str:
        """the model card's pipeline_tag (input kind-output kind, e.g. tabular-classification) from the specs --execute recorded; empty without both, or for a clustering model"""
        clustering = any(".cluster." in kind for kind in self.artifact_types.values())
        kinds = (input_kind(self.input_spec), "" if clustering else output_kind(self.output_spec))
        return "-".join(kinds) if all(kinds) else ""

    @cached_property
    def example_tensors(self) -> list[dict]:
        """the first recorded row of a table input as Open Inference Protocol tensors, one a column (empty without)"""
        example = self.input_spec.get("example")
        if "columns" not in self.input_spec or example is None:
            return []
        return [column_tensor(column, example[column["name"]]) for column in self.input_spec["columns"]]

    @cached_property
    def torch_artifacts(self) -> bool:
        """whether torch saves a fitted state (format torch, state_dict or pretrained): model.py imports torch"""
        return any(artifact["format"] in TORCH_FORMATS for artifact in self.artifacts)

    @cached_property
    def rebuilt_artifacts(self) -> list[dict]:
        """the artifacts in state_dict format, whose modules are rebuilt from their recorded constructor arguments"""
        return [artifact for artifact in self.artifacts if artifact["format"] == "state_dict"]

    @cached_property
    def rebuilt_modules(self) -> list[str]:
        """the classes (from helpers.py) of the state_dict artifacts, each once, sorted"""
        return once_sorted(artifact["module"] for artifact in self.rebuilt_artifacts)

    @cached_property
    def skops_artifacts(self) -> bool:
        """whether a fitted state is saved with skops.io (--skops): the package holds skops_state.py and requires skops"""
        return any(artifact["format"] == "skops" for artifact in self.artifacts)

    @cached_property
    def pretrained_artifacts(self) -> list[dict]:
        """the artifacts in pretrained format: save_pretrained folders, loaded by their module"""
        return [artifact for artifact in self.artifacts if artifact["format"] == "pretrained"]

    def __getitem__(self, name: str) -> Any:
        if name not in FIELD_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(FIELD_NAMES)

    def __len__(self) -> int:
        return len(FIELD_NAMES)

    def variables(self) -> dict[str, Any]:
        """Every template variable, name -> value: the fields and what derives from them."""
        return {name: getattr(self, name) for name in VARIABLES}


def of(given: Mapping[str, Any]) -> TemplateContext:
    """`given` as a TemplateContext: a mapping of field names (a changed copy of a context's) is built into one, so
    what derives from the fields is computed again from the changed ones."""
    return given if isinstance(given, TemplateContext) else TemplateContext(**given)


def derived_variables() -> dict[str, tuple[str, str]]:
    """name -> (type, meaning) of each derived property of TemplateContext, from its annotation and docstring."""
    properties = {name: value for name, value in vars(TemplateContext).items() if isinstance(value, cached_property)}
    return {name: (str(value.func.__annotations__["return"]), str(value.__doc__)) for name, value in properties.items()}


FIELD_NAMES = tuple(entry.name for entry in fields(TemplateContext))
VARIABLES = {
    **{entry.name: (str(entry.type), entry.metadata["doc"]) for entry in fields(TemplateContext)},
    **derived_variables(),
}
"""name -> (type, meaning) of every template variable, as TemplateContext declares them."""

PROFILE_FILE = "input_profile.json"
MODEL_LIBRARIES = ("transformers", "torch", "xgboost", "lightgbm", "catboost", "tensorflow", "keras", "scikit-learn")
"""The libraries a model card names, the first the dependencies hold: a wrapper before the library it wraps."""
TRAIN_MODEL_NAMES = ("build_module", "resolve_device", "save_artifact")
TRAIN_METRIC_NAMES = ("noted", "save_metrics")


def once_sorted(names: Iterable[str]) -> list[str]:
    """Each name once, the first of those equal but for case, sorted regardless of case."""
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(name.lower(), name)
    return sorted(first.values(), key=str.lower)
