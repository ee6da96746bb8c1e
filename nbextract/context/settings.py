"""config.toml's entries (Setting): those the plan found, those lifted from the training code and those every package
has, with batch_size's default; and whether the generated CI trains, from the data files the settings name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import dependencies
from ..rewrite import TORCH_FORMATS, Code
from ..slice import Plan

DEFAULT_BATCH_SIZE = 1024
"""Rows per call of a model called batch by batch, unless the source names an inference batch size: at 256 a cheap
torch model at 1,000 rows cost 2.1x its one call (four calls' fixed cost), at 1,024 0.99x; a call still holds at most
batching.MAX_CALL_BYTES of input (benchmarks/predictor_speed.md)."""


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


SETTING_TABLES = ("serving", "training")


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
