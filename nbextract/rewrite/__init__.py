"""Stage 5: rewrite the planned statements into code pieces with libcst: stage functions, helpers, training script.

Each piece keeps its provenance: each block of consecutive statements from one cell carries one `# cell N, lines
M-K` comment, as nbdev's markers do. Comments that are code commented out, or remarks about the author's machine, are
left out (and listed, so the report shows them).

By concern: `code` puts the pieces together, `stages` writes the stage functions, `training` the training script and
`metrics` its evaluation; `provenance` emits a statement with its origin, `comments` leaves stale comments out,
`secrets` and `settings` replace secrets, devices and batch sizes; `imports` and `emit` write imports and code text.
"""

from .code import Code, rewrite
from .comments import COMMENTED_CODE, MACHINE_REMARK, WithoutStaleComments, stale_lines
from .emit import function_code
from .metrics import NotedMetrics
from .provenance import provenance, with_origins
from .secrets import sets_environment
from .stages import STAGE_DOCS, TORCH_FORMATS, Param, StageCode

__all__ = [
    "COMMENTED_CODE",
    "MACHINE_REMARK",
    "STAGE_DOCS",
    "TORCH_FORMATS",
    "Code",
    "NotedMetrics",
    "Param",
    "StageCode",
    "WithoutStaleComments",
    "function_code",
    "provenance",
    "rewrite",
    "sets_environment",
    "stale_lines",
    "with_origins",
]
