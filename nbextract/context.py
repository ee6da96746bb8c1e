"""What the templates receive: a TemplateContext, built from the plan and the rewritten code.

Its fields are the template variables; `nbextract templates export` lists their names, types and meanings (VARIABLES),
so the documentation cannot drift. Decisions are made here, and the templates print them.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from . import __version__, dependencies, knowledge, render
from .draw import mermaid
from .findings import find_all
from .options import Options, dependency_overrides
from .rewrite import TORCH_FORMATS, Code, Param, StageCode
from .slice import Plan
from .vocabulary import Format, ParamSource

DEFAULT_BATCH_SIZE = 256


@dataclass(frozen=True)
class Setting:
    """One config.toml entry: key, value, Python type, env var, where it was found and what it affects; its table,
    serving (read when predicting) or training; for a path training names, how it uses it (lift.Lifted.use)."""

    key: str
    value: object
    type: str
    env: str
    origin: str
    affects: str
    path: bool = False
    table: str = "serving"
    use: str = ""

    @property
    def toml(self) -> str:
        return json.dumps(self.value)

    @property
    def default(self) -> str:
        return repr(self.value)


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
    artifacts: list[dict] = variable("fitted state: variable, path, format (joblib, torch, state_dict, pretrained), module, origin", factory=list)
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
SETTING_TABLES = ("serving", "training")
MODEL_LIBRARIES = ("transformers", "torch", "xgboost", "lightgbm", "catboost", "tensorflow", "keras", "scikit-learn")
"""The libraries a model card names, the first the dependencies hold: a wrapper before the library it wraps."""
SERVE_REQUIREMENTS = ("fastapi>=0.110", "uvicorn>=0.29", "prometheus-client>=0.20", "numpy")
TRAIN_MODEL_NAMES = ("build_module", "resolve_device", "save_artifact")
TRAIN_METRIC_NAMES = ("noted", "save_metrics")
TRAIN_SCRIPT_IMPORTS = ("import sys", "from pathlib import Path")
"""What training/train.py imports itself (to import the package from src/): the source's same line is not repeated."""


def build(plan: Plan, code: Code, options: Options) -> TemplateContext:
    package = options.package
    prefix = f"{package.upper()}_"
    document = plan.graph.document
    settings = [
        *settings_from_plan(plan, prefix),
        *lifted_settings(code, prefix),
        *builtin_settings(plan, code, package),
    ]
    artifacts = [{**a.describe(), "origin": a.origin} for a in plan.artifacts]
    statements = [
        {
            "origin": str(plan.graph.statements[index].origin),
            "label": plan.graph.statements[index].label,
            "stage": fate.stage,
            "reason": fate.reason,
        }
        for index, fate in sorted(plan.fates.items())
    ]
    statements += [{"origin": str(s.origin), "label": s.label, "stage": "dropped", "reason": "tagged nbextract:skip"} for s in plan.graph.skipped]
    findings = [asdict(finding) for finding in find_all(plan.graph)]
    secrets = secret_entries(plan)
    magics = [asdict(decision) for decision in plan.graph.magics]
    source = {"path": document.path, "name": Path(document.path).name, "kind": document.kind, "sha256": document.sha256}
    declared = dependencies.Declared.of(installs(plan), dependency_overrides(Path(document.path).parent))
    inference_imports = [line for stage in code.stages.values() for line in stage.imports] + code.helper_imports
    nodes = [statement.node for statement in plan.graph.statements]
    made_with = dependencies.implied_modules([nodes[index] for index in input_makers(plan)])
    runtime = dependencies.pinned([*inference_imports, *fitted_state_imports(plan), *input_imports(plan)], ("joblib", *format_modules(plan), *made_with), declared)
    trained_with = dependencies.implied_modules([nodes[index] for index in plan.train])
    training = [req for req in dependencies.pinned(code.train_imports, trained_with, declared) if req not in runtime]
    manifest = {
        "nbextract_version": __version__,
        "package": package,
        "source": {"path": document.path, "kind": document.kind, "sha256": document.sha256},
        "inputs": [{"name": plan.input.name, "origin": plan.input.origin}],
        "outputs": [{"name": plan.output.name, "origin": plan.output.origin}],
        "artifacts": [{k: a[k] for k in ("variable", "path", "format")} for a in artifacts],
        "config": [{"key": s.key, "value": s.value, "env": s.env, "origin": s.origin} for s in settings],
        "secrets": secrets,
        "statements": [{"origin": s["origin"], "stage": s["stage"], "reason": s["reason"]} for s in statements],
        "findings": findings,
    }
    stage_map = {index: fate.stage for index, fate in plan.fates.items()}
    return TemplateContext(
        package=package,
        source=source,
        settings=settings,
        stages=code.stages,
        input=boundary(plan, plan.input),
        output=boundary(plan, plan.output),
        artifacts=artifacts,
        secrets=secrets,
        train_uses_secrets=code.train_uses_secrets,
        read_secrets=code.read_secrets,
        helpers=code.helpers,
        helper_imports=code.helper_imports,
        helper_names=code.helper_names,
        helper_globals=plan.helper_globals,
        train_main=code.train_body if plan.train else "",
        train_imports=[line for line in code.train_imports if line not in TRAIN_SCRIPT_IMPORTS],
        train_helper_names=code.train_helper_names,
        dependencies=runtime,
        training_requirements=training,
        statements=statements,
        findings=findings,
        magics=magics,
        graph_mermaid=mermaid(plan.graph, stage_map),
        manifest=manifest,
        reference={"name": plan.reference.name, "origin": plan.reference.origin} if plan.reference else None,
        seeds=seed_statements(plan),
        left_out=code.left_out,
        metrics=code.metrics,
    )


def installs(plan: Plan) -> list[str]:
    """The requirements the source's `!pip install` lines name."""
    return [word for decision in plan.graph.magics if decision.action == "dependency" for word in decision.detail.split()]


def format_modules(plan: Plan) -> tuple[str, ...]:
    """Libraries the artifacts' formats are written and read with, beside the fitted state's own (safetensors for a
    state_dict's weights)."""
    return ("safetensors",) if any(artifact.format == Format.STATE_DICT for artifact in plan.artifacts) else ()


def fitted_state_imports(plan: Plan) -> list[str]:
    """Import statements read where the fitted state is bound: loading the artifacts needs their libraries."""
    statements = plan.graph.statements
    variables = {artifact.variable for artifact in plan.artifacts}
    return sorted(
        {
            statements[binder].code
            for index in plan.train
            if statements[index].defines & variables
            for binder in statements[index].sources.values()
            if statements[binder].kind == "import"
        }
    )


def input_imports(plan: Plan) -> list[str]:
    """Import statements read by the statements the input is made with: the library of its type (a DataFrame input
    needs pandas) is one of them, which --execute reads from the recorded type instead."""
    statements = plan.graph.statements
    return sorted({statements[index].code for index in input_makers(plan) if statements[index].kind == "import"})


def input_makers(plan: Plan) -> set[int]:
    """The statement binding the input and those it depends on."""
    return nx.ancestors(plan.graph.graph, plan.input.statement) | {plan.input.statement}


def seed_statements(plan: Plan) -> list[str]:
    statements = plan.graph.statements
    return [statements[i].label for i in plan.train if any(knowledge.is_seed(call) for call in statements[i].calls)]


def with_run(data: TemplateContext, run) -> TemplateContext:
    """The context after --execute: the spec, output description, types and benchmark the run recorded."""
    kinds = [*run.artifact_types.values(), run.spec.get("type", ""), run.output_spec.get("type", "")]
    libraries = tuple(kind.split(".")[0] for kind in kinds if "." in kind and not kind.startswith("__main__."))
    runtime = sorted(set(data.dependencies) | set(dependencies.pinned([], libraries)), key=str.lower)
    manifest = {**data.manifest, "executed": {"python": run.python, "golden": sorted(p for p in run.files if p.startswith("tests/golden/"))}}
    return replace(
        data,
        executed=True,
        input_spec=run.spec,
        output_spec=run.output_spec,
        artifact_types=run.artifact_types,
        benchmark=run.benchmark,
        runtime_python=run.python,
        dependencies=runtime,
        training_requirements=[req for req in data.training_requirements if req not in runtime],
        manifest=manifest,
    )


def boundary(plan: Plan, bound) -> dict:
    """A boundary for the templates, with the (redacted) code of the statement that binds it."""
    statement = plan.graph.statements[bound.statement]
    code = "\n".join(line for line in statement.shown_code.strip().splitlines() if not line.lstrip().startswith("#"))
    return {"name": bound.name, "origin": bound.origin, "code": code}


TORCH_DISTRIBUTIONS = ("torch", "torchvision", "torchaudio")


def torch_distributions(requirements: list[str]) -> list[str]:
    """The requirements of torch's own distributions, whose wheels come from their CPU index unless asked otherwise."""
    return [requirement for requirement in requirements if canonicalize_name(Requirement(requirement).name) in TORCH_DISTRIBUTIONS]


def secret_entries(plan: Plan) -> list[dict]:
    """One entry per environment variable: its name, the kind of secret and where the source held it."""
    entries: dict[str, dict] = {}
    for origin, secret in plan.graph.secrets:
        entries.setdefault(secret.env, {"env": secret.env, "kind": secret.kind, "origin": str(origin)})
    for decision in plan.graph.magics:
        if decision.action == "secret":
            place = f"cell {decision.cell}, line {decision.line}"
            entries.setdefault(decision.detail, {"env": decision.detail, "kind": "secret set by %env", "origin": place})
    return list(entries.values())


def settings_from_plan(plan: Plan, prefix: str) -> list[Setting]:
    return [
        Setting(value.key, value.value, type(value.value).__name__, f"{prefix}{value.key.upper()}", value.origin, f"read by the inference path as {value.variable}")
        for value in plan.config
    ]


def lifted_settings(code: Code, prefix: str) -> list[Setting]:
    """Values lifted from the training code, in the [training] table; a relative path stays as the source wrote it,
    which resolves against the project as it did against the source's folder (README.md says what to put there)."""
    return [
        Setting(value.key, value.value, type(value.value).__name__, f"{prefix}{value.key.upper()}", value.origin, value.affects, value.path, "training", value.use)
        for value in code.lifted
    ]


def training_in_ci(train_main: str, settings: list[Setting]) -> dict:
    """Whether the generated CI trains, and on which condition: only where the repository can hold every data file
    training reads (none outside the project), and only when it does (`hashFiles(...)`)."""
    read = [str(setting.value) for setting in settings if setting.use == "reads"]
    inside = all(not Path(path).is_absolute() and ".." not in Path(path).parts for path in read)
    condition = " && ".join(f"hashFiles('{path}') != ''" for path in read)
    return {"run": bool(train_main) and inside, "condition": condition}


def builtin_settings(plan: Plan, code: Code, package: str) -> list[Setting]:
    """The settings every package has ([serving]); `device` only where torch runs a model."""
    prefix = f"{package.upper()}_"
    entries = [
        ("batch_size", *inference_batch_size(plan)),
        ("device", "auto", "str", "generated", "where models run: auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps"),
        ("artifacts_dir", "artifacts", "str", "generated", "folder of the fitted state written by training/train.py"),
        ("model_version", "current", "str", "generated", f"the artifact set predictions load: current (the last training), or an older version listed by `python -m {package} info` (rollback)"),
        ("drift_threshold", 0.2, "float", "generated", "population stability index above which a feature is logged as drifting from the training data (0 turns the check off)"),
        ("drift_min_rows", 50, "int", "generated", "batches smaller than this are not checked for drift (too few rows to compare distributions)"),
    ]
    dropped = {value.key for value in plan.config} | (set() if uses_torch(plan, code) else {"device"})
    return [
        Setting(key, value, kind, f"{prefix}{key.upper()}", origin, affects, path=key == "artifacts_dir")
        for key, value, kind, origin, affects in entries
        if key not in dropped
    ]


def uses_torch(plan: Plan, code: Code) -> bool:
    """A torch artifact, or torch imported by the inference or the training code."""
    imports = [*code.helper_imports, *code.train_imports, *(line for stage in code.stages.values() for line in stage.imports)]
    torch_state = any(artifact.format in TORCH_FORMATS for artifact in plan.artifacts)
    return torch_state or "torch" in dependencies.top_level_modules(imports)


BATCHED_AFFECTS = (
    "rows per call of the model (an inference size, not the training batch size): larger is faster per row and uses "
    "more memory; benchmarks/bench.py measures sizes and recommends one"
)
WHOLE_AFFECTS = (
    "rows per call of infer(); 0: the whole input in one call (the model takes it at once, and splitting it only "
    "repeats the model's fixed cost per call), split only above 256 MB"
)


def inference_batch_size(plan: Plan) -> tuple[object, str, str, str]:
    """value, type, origin and affects of batch_size: the source's inference batch size, else DEFAULT_BATCH_SIZE
    when the model is called batch by batch (torch, transformers), else 0: any other model (scikit-learn, xgboost,
    lightgbm, ...) takes the whole input in one call, and splitting it only pays the model's fixed cost again."""
    batched = any(artifact.format in TORCH_FORMATS for artifact in plan.artifacts)
    default = DEFAULT_BATCH_SIZE if batched else 0
    value, origin = (plan.batch_size.value, plan.batch_size.origin) if plan.batch_size else (default, "generated")
    return value, "int", origin, BATCHED_AFFECTS if batched else WHOLE_AFFECTS


def unpinned_serve_requirements(pinned: list[str]) -> list[str]:
    """The requirements of the [serve] extra whose distribution `pinned` (name==version lines) does not pin."""
    names = {requirement.split("==")[0].lower() for requirement in pinned}
    return [requirement for requirement in SERVE_REQUIREMENTS if requirement.split(">=")[0].lower() not in names]


def input_kind(spec: dict) -> str:
    """tabular (columns), text (strings, one a row) or empty: the input half of a model card's task."""
    if "columns" in spec:
        return "tabular"
    one_string_a_row = spec.get("dtype") in ("str", "object") and len(spec.get("shape", ())) == 1
    return "text" if spec.get("items") == ["str"] or one_string_a_row else ""


def output_kind(spec: dict) -> str:
    """regression (floats), classification (any other recorded output) or empty: the output half of the task."""
    dtype = spec.get("dtype", "")
    if dtype.startswith(("float", "Float")) or spec.get("items") == ["float"]:
        return "regression"
    return "classification" if dtype or spec.get("items") else ""


def column_tensor(column: dict, value: object) -> dict:
    """One column of a row as an Open Inference Protocol tensor of one value."""
    return {"name": column["name"], "shape": [1], "datatype": tensor_datatype(column["dtype"]), "data": [value]}


def tensor_datatype(dtype: str) -> str:
    """The Open Inference Protocol datatype of a column's dtype."""
    if dtype.startswith(("int", "Int")):
        return "INT64"
    if dtype.startswith(("float", "Float")):
        return "FP64"
    return "BOOL" if dtype == "bool" else "BYTES"


def once_sorted(names: Iterable[str]) -> list[str]:
    """Each name once, the first of those equal but for case, sorted regardless of case."""
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(name.lower(), name)
    return sorted(first.values(), key=str.lower)




def arguments(params: list[Param]) -> list[str]:
    """`name=value` for each parameter, as pipeline.py passes it."""
    return [f"{param.name}={value_of(param)}" for param in params]


def value_of(param: Param) -> str:
    if param.source == ParamSource.DEVICE:
        return "self.device"
    if param.source == ParamSource.ARTIFACT:
        return f"self.artifacts[{render.python_literal(param.key)}]"
    if param.source == ParamSource.CONFIG:
        return f"self.settings.{param.key}"
    return param.name


def batched(stage: StageCode) -> dict | None:
    """infer runs in batches when it takes one data argument and returns one value; a partial binds the others."""
    data = [param for param in stage.params if param.source in (ParamSource.INPUT, ParamSource.STAGE)]
    if len(data) != 1 or len(stage.returns) != 1:
        return None
    bound = arguments([param for param in stage.params if param not in data])
    partial = [stage.function, *bound] if bound else []
    function = f"partial({', '.join(partial)})" if bound else stage.function
    return {"function": function, "data": data[0].name, "partial": partial}
