"""Slicing: the inference statements (fed by the input, feeding the prediction), split into stages; what they read
from outside, sorted into helpers, config, devices and fitted state; and the training slice that rebuilds that state."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx

from .. import knowledge
from ..graph import NO_LITERAL, Statement, StatementGraph
from ..vocabulary import DEFINITIONS, INFERENCE_STAGES, Kind, Stage, Tag
from .plan import Artifact, Boundary, ConfigValue
from .roles import binds_device, fits, is_replayable


def inference_slice(graph: StatementGraph, source: Boundary, prediction: int, post: list[int]) -> list[int]:
    """Statements fed by the input that feed the prediction, then the prediction and its post-processing."""
    tainted: set[int] = set()
    for statement in graph.statements[source.statement + 1 : prediction + 1]:
        if statement.tag == Tag.TRAIN or fits(statement):
            continue
        for name, binder in statement.sources.items():
            if binder in tainted or (binder == source.statement and name == source.name):
                tainted.add(statement.index)
                break
    feeding = nx.ancestors(graph.graph, prediction) | {prediction}
    inference = (tainted & feeding) | {prediction} | set(post)
    return sorted(inference | accumulators(graph, inference, source))


def accumulators(graph: StatementGraph, inference: set[int], source: Boundary) -> set[int]:
    """`preds = []` before a loop that appends each batch's predictions to it: an empty collection that inference
    fills is made afresh by every call, never fitted state or config."""
    found = set()
    for index in inference:
        statement = graph.statements[index]
        for name in statement.defines & set(statement.sources):
            binder = statement.sources[name]
            literal = graph.statements[binder].literal
            if binder not in inference and binder > source.statement and isinstance(literal, (list, dict, set)) and not literal:
                found.add(binder)
    return found


def split_stages(statements: list[Statement], inference: list[int], prediction: int, post: list[int]) -> dict[Stage, list[int]]:
    stages: dict[Stage, list[int]] = {stage: [] for stage in INFERENCE_STAGES}
    for index in inference:
        tag = statements[index].tag
        if tag in INFERENCE_STAGES and index != prediction:
            stages[Stage(tag)].append(index)
        elif index == prediction:
            stages[Stage.INFER].append(index)
        elif index in post or index > prediction:
            stages[Stage.POSTPROCESS].append(index)
        else:
            stages[Stage.PREPROCESS].append(index)
    return stages


def toml_value(value: object) -> bool:
    """Values a config.toml can hold as they are: numbers, strings, booleans, and flat lists of them."""
    scalar = (bool, int, float, str)
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if isinstance(value, list):
        return all(isinstance(item, scalar) for item in value) and len({type(item) for item in value}) <= 1
    return isinstance(value, scalar)


@dataclass
class OutsideReads:
    """What the inference statements read from outside the slice, sorted into its kinds."""

    graph: StatementGraph
    first: int
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    config: dict[str, ConfigValue] = field(default_factory=dict)
    helpers: set[int] = field(default_factory=set)
    helper_globals: set[str] = field(default_factory=set)
    devices: dict[str, int] = field(default_factory=dict)

    def take(self, name: str, binder: int, in_helper: bool = False) -> None:
        """Sort one read: import, device, helper code (with what it reads), config value or fitted state."""
        statement = self.graph.statements[binder]
        if statement.kind == Kind.IMPORT or binder in self.helpers:
            return
        if binds_device(statement) and not in_helper:
            self.devices[name] = binder
            return
        if statement.kind in DEFINITIONS:
            self.helpers.add(binder)
            for inner in sorted(statement.body_reads | statement.reads):
                inner_binder = self.graph.binder(self.first, inner)
                if inner_binder is not None:
                    self.take(inner, inner_binder, in_helper=True)
        elif statement.literal is not NO_LITERAL and toml_value(statement.literal) and not in_helper:
            self.config[name] = ConfigValue(name.lower(), name, statement.literal, binder, str(statement.origin))
        elif (in_helper or statement.literal is not NO_LITERAL) and is_replayable(self.graph, binder):
            self.helpers.add(binder)
            for inner, inner_binder in sorted(statement.sources.items()):
                self.take(inner, inner_binder, in_helper=True)
        else:
            self.artifacts[name] = Artifact(name, binder, str(statement.origin))
            if in_helper:
                self.helper_globals.add(name)


def external_reads(graph: StatementGraph, inference: list[int], source: Boundary) -> OutsideReads:
    """Sort what the inference statements read from outside the slice; helper code first, so that what a helper
    reads is copied with it rather than taken as fitted state."""
    statements = graph.statements
    inside = set(inference)
    reads = {
        (name, binder)
        for index in inference
        for name, binder in statements[index].sources.items()
        if binder not in inside and not (binder == source.statement and name == source.name)
    }
    outside = OutsideReads(graph, inference[0])
    for name, binder in sorted(reads, key=lambda read: (statements[read[1]].kind not in DEFINITIONS, read)):
        outside.take(name, binder)
    return outside


# Names that clearly mean a batch size for inference; a plain `batch_size` or `bs` is the training DataLoader's
BATCH_SIZE_NAMES = {
    f"{use}_batch_size" for use in ("inference", "infer", "predict", "prediction", "eval", "evaluation", "test", "serving")
}


def batch_size(graph: StatementGraph) -> ConfigValue | None:
    """The source's inference batch size (`PREDICT_BATCH_SIZE = 256`, the last one bound), the default of config's
    batch_size; a training size (`BATCH_SIZE = 64`) is not one."""
    for statement in reversed(graph.statements):
        value = statement.literal
        names = {name.lower() for name in statement.defines}
        if isinstance(value, int) and not isinstance(value, bool) and value > 0 and names & BATCH_SIZE_NAMES:
            name = next(iter(sorted(statement.defines)))
            return ConfigValue("batch_size", name, value, statement.index, str(statement.origin))
    return None


def training_slice(graph: StatementGraph, artifacts: list[Artifact]) -> list[int]:
    """Everything the fitted state depends on, and the seeds set before it: a step the inference path shares with
    training (`Xs = X * 2` read by both the fit and the prediction) is replayed by training too."""
    needed: set[int] = set()
    for artifact in artifacts:
        needed |= nx.ancestors(graph.graph, artifact.statement) | {artifact.statement}
    if not needed:
        return []
    last = max(needed)
    seeds = {
        statement.index
        for statement in graph.statements[:last]
        if any(knowledge.is_seed(call) for call in statement.calls)
    }
    for seed in seeds:
        needed |= nx.ancestors(graph.graph, seed) | {seed}
    return sorted(needed)
