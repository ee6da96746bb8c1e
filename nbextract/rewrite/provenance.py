"""A statement as emitted, with its provenance: secrets and pinned devices replaced, stale comments left out
(and listed), and a `# cell N, lines M-K` comment on each block of consecutive statements from one cell."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from ..document import Origin
from ..graph import Statement
from ..graph.nodes import TopLevel, visited
from ..secrets import redact
from .comments import WithoutStaleComments, comment_lines
from .secrets import SecretsFromEnvironment
from .settings import DeviceAtRunTime, pins_device


def provenance(
    node: TopLevel, statement: Statement, device: str | None = None, left_out: list[dict] | None = None
) -> TopLevel:
    """The statement as emitted: secrets read from the environment, pinned devices replaced by `device` (an
    expression) when given; its comments without commented-out code and remarks about the author's machine, which
    are added to `left_out` (when given) with the statement's origin."""
    if statement.secrets:
        node = visited(node, SecretsFromEnvironment(statement.secrets))
    if device is not None and pins_device(statement):
        node = visited(node, DeviceAtRunTime(device))
    node = node.with_changes(leading_lines=comment_lines(node))
    if "#" not in statement.code:  # no comment to leave out: most statements, and walking each costs
        return node
    comments = WithoutStaleComments()
    node = visited(node, comments)
    for comment, reason in comments.removed:
        entry = {"origin": str(statement.origin), "comment": redact(comment, statement.secrets), "reason": reason}
        if left_out is not None and entry not in left_out:
            left_out.append(entry)
    return node


def with_origins(emitted: Sequence[tuple[TopLevel, Statement | None]]) -> list[TopLevel]:
    """The emitted statements, a `# cell N, lines M-K` comment on top of each block of consecutive statements of one
    cell (an added statement, with no origin, ends a block)."""
    nodes = []
    for position, (node, statement) in enumerate(emitted):
        previous = emitted[position - 1][1] if position else None
        if statement is None or (previous is not None and continues(previous, statement)):
            nodes.append(node)
        else:
            nodes.append(with_origin(node, block_from(statement, emitted[position + 1 :])))
    return nodes


def block_from(first: Statement, emitted: Sequence[tuple[TopLevel, Statement | None]]) -> list[Statement]:
    """The statements of the block `first` starts: it and those of `emitted`, which follow it, that carry it on."""
    block = [first]
    for _, following in emitted:
        if following is None or not continues(block[-1], following):
            break
        block.append(following)
    return block


def continues(before: Statement, statement: Statement) -> bool:
    """Whether `statement` carries on the block `before` is in: the same cell (the next statement, in a plain script)."""
    if before.origin.cell is None:
        return statement.origin.cell is None and statement.index == before.index + 1
    return statement.origin.cell == before.origin.cell


def with_origin(node: TopLevel, block: list[Statement]) -> TopLevel:
    first, last = block[0].origin, block[-1].origin
    origin = Origin(first.cell, first.first_line, max(last.last_line, first.last_line))
    comment = cst.EmptyLine(comment=cst.Comment(f"# {origin}"))
    return node.with_changes(leading_lines=[*comment_lines(node), comment])
