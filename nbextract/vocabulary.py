"""The named vocabularies of a conversion: what a statement is, where it goes, how fitted state is saved, what
happened to a magic and what a finding is about.

Each is a StrEnum: a member is equal to its string, hashes and prints as it, so reports, nbextract.json and
templates see the same text as before, and code that still compares the plain string keeps working.
"""

from __future__ import annotations

import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10 has no enum.StrEnum

    class StrEnum(str, Enum):
        """enum.StrEnum of Python 3.11: members are strings and print as their value."""

        def __str__(self) -> str:
            return str.__str__(self)


class Kind(StrEnum):
    """What a top-level statement is (`Statement.kind`)."""

    DEF = "def"
    CLASS = "class"
    BLOCK = "block"
    IMPORT = "import"
    ASSIGN = "assign"
    EXPR = "expr"
    OTHER = "other"


DEFINITIONS = (Kind.DEF, Kind.CLASS)
"""Kinds whose statement binds code (a function or a class), not a value."""
CONSTANT_KINDS = (Kind.IMPORT, Kind.DEF, Kind.CLASS)
"""Kinds whose statement binds the same thing however the source's data looks."""
VALUE_KINDS = (Kind.ASSIGN, Kind.EXPR)
"""Kinds whose statement computes a value (a prediction, a replayable expression)."""


class Tag(StrEnum):
    """The stage a cell's `nbextract:<tag>` tag names (`Statement.tag`)."""

    SKIP = "skip"
    CONFIG = "config"
    INIT = "init"
    PREPROCESS = "preprocess"
    INFER = "infer"
    POSTPROCESS = "postprocess"
    TRAIN = "train"


class Stage(StrEnum):
    """Where a statement of the source goes (`Fate.stage`): a stage function of the package, training, config, a
    helper, an import, the raw input, or nowhere."""

    PREPROCESS = "preprocess"
    INFER = "infer"
    POSTPROCESS = "postprocess"
    TRAIN = "train"
    CONFIG = "config"
    HELPER = "helper"
    IMPORT = "import"
    INPUT = "input"
    DROPPED = "dropped"


INFERENCE_STAGES = (Stage.PREPROCESS, Stage.INFER, Stage.POSTPROCESS)
"""The stage functions of the package, in the order predict() calls them."""


class Step(StrEnum):
    """A step of the conversion pipeline (convert.convert), as progress names it, in the order the steps run."""

    READ = "reading the source"
    GRAPH = "building the statement graph"
    SLICE = "slicing the inference path"
    REWRITE = "rewriting the code"
    RENDER = "rendering and formatting the project"
    EXECUTE = "running the source"
    WRITE = "writing the project"


class ParamSource(StrEnum):
    """Where the pipeline takes the value of a stage function's parameter (`Param.source`)."""

    INPUT = "input"
    STAGE = "stage"
    ARTIFACT = "artifact"
    CONFIG = "config"
    DEVICE = "device"


class Format(StrEnum):
    """How a piece of fitted state is saved (`Artifact.format`)."""

    JOBLIB = "joblib"
    SKOPS = "skops"
    TORCH = "torch"
    STATE_DICT = "state_dict"
    PRETRAINED = "pretrained"


class Action(StrEnum):
    """What happened to a magic or shell line (`MagicDecision.action`)."""

    DROPPED = "dropped"
    UNWRAPPED = "unwrapped"
    DEPENDENCY = "dependency"
    CONFIG = "config"
    SECRET = "secret"
    FLAGGED = "flagged"


class FindingKind(StrEnum):
    """What a finding is about (`Finding.kind`)."""

    SECRET = "secret"
    STAR_IMPORT = "star import"
    SYNTAX_ERROR = "syntax error"
    REPRODUCIBILITY = "reproducibility"
    HARD_CODED_PATH = "hard-coded path"
    PINNED_DEVICE = "pinned device"
    HUB_DOWNLOAD = "hub download"
    UNPINNED_INSTALL = "unpinned install"
