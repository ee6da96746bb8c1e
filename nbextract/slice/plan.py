"""The plan's types: the boundaries of the inference path, the fitted state (artifacts) and how each is saved, config
values, the fate of every statement, and the plan itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import StatementGraph
from ..vocabulary import INFERENCE_STAGES, Format, Stage


PREDICTION_NAME = "prediction"


@dataclass(frozen=True)
class Boundary:
    name: str
    statement: int
    origin: str


ARTIFACT_SUFFIXES = {Format.JOBLIB: ".joblib", Format.SKOPS: ".skops", Format.TORCH: ".pt", Format.STATE_DICT: "", Format.PRETRAINED: ""}


@dataclass(frozen=True)
class Artifact:
    """Fitted state and how it is saved: joblib; skops (with --skops: skops.io where the value's types allow, else
    joblib beside it, decided when training saves it); torch (torch.save of the object, tensors and whole models);
    state_dict (a folder: the weights of a model class of the source as safetensors, rebuilt from `module` with the
    constructor arguments that training records at `construction`); pretrained (a Hugging Face folder written by save_pretrained, loaded by `module`)."""

    variable: str
    statement: int
    origin: str
    format: Format = Format.JOBLIB
    module: str | None = None
    construction: int | None = None

    @property
    def path(self) -> str:
        return f"artifacts/{self.variable}{ARTIFACT_SUFFIXES[self.format]}"

    def describe(self) -> dict:
        """variable, path, format, and the class (or loader) a state_dict or pretrained folder is loaded with."""
        entry = {"variable": self.variable, "path": self.path, "format": self.format}
        return {**entry, "module": self.module} if self.module else entry


@dataclass(frozen=True)
class ConfigValue:
    key: str
    variable: str
    value: object
    statement: int
    origin: str


@dataclass(frozen=True)
class Fate:
    stage: Stage
    reason: str


@dataclass
class Plan:
    graph: StatementGraph
    input: Boundary
    output: Boundary
    prediction: int
    stages: dict[Stage, list[int]]
    train: list[int]
    artifacts: list[Artifact]
    config: list[ConfigValue]
    helpers: list[int]
    helper_globals: list[str] = field(default_factory=list)
    batch_size: ConfigValue | None = None
    fates: dict[int, Fate] = field(default_factory=dict)
    reference: Boundary | None = None
    devices: dict[str, int] = field(default_factory=dict)

    @property
    def inference(self) -> list[int]:
        return sorted(index for stage in INFERENCE_STAGES for index in self.stages[stage])
