"""Comments left out of the package: code commented out, and remarks about the author's machine."""

from __future__ import annotations

import textwrap

import libcst as cst

from ..graph.nodes import TopLevel


def comment_lines(node: TopLevel) -> list[cst.EmptyLine]:
    """The comment lines above a statement, without its blank lines."""
    return [line for line in node.leading_lines if line.comment is not None]


PRAGMAS = ("type:", "noqa", "pylint:", "fmt:", "isort:", "pragma", "nbextract:", "%%", "ruff:", "mypy:")
MACHINE_WORDS = frozenset({"laptop", "macbook", "desktop", "workstation", "colab"})
MACHINE_PHRASES = frozenset({("my", "machine"), ("this", "machine"), ("my", "computer"), ("my", "pc"), ("my", "mac"), ("my", "gpu"), ("my", "box")})
COMMENTED_CODE = "commented-out code"
MACHINE_REMARK = "a remark about the author's machine"
LONGEST_COMMENTED_CODE = 12  # comment lines tried together as one piece of code
PROSE_EXPRESSIONS = (cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.Ellipsis)


def comment_text(comment: str) -> str:
    """A comment without its `#` and the one space after it."""
    text = comment.removeprefix("#")
    return text.removeprefix(" ")


def is_code(lines: list[str]) -> bool:
    """Comment lines that parse, together, as Python statements other than one bare word or literal (prose such as
    `# TODO` or `# 42` parses too)."""
    text = "\n".join(comment_text(line) for line in lines)
    if not text.strip() or text.lstrip().startswith(PRAGMAS):
        return False
    try:
        module = cst.parse_module(textwrap.dedent(text) + "\n")
    except cst.ParserSyntaxError:
        return False
    return bool(module.body) and not all(is_prose(statement) for statement in module.body)


def is_prose(statement: TopLevel) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    expression = statement.body[0]
    return isinstance(expression, cst.Expr) and isinstance(expression.value, PROSE_EXPRESSIONS)


def about_machine(comment: str) -> bool:
    """A remark about where the author ran the source: `# no GPU on this laptop`, `# slow on my machine`."""
    words = [word.strip(".,;:!?()'\"").lower() for word in comment_text(comment).split()]
    return bool(MACHINE_WORDS & set(words)) or bool(MACHINE_PHRASES & set(zip(words, words[1:])))


def stale_lines(lines: list[str]) -> dict[int, str]:
    """Position -> reason of the comment lines of one run to leave out: the longest stretches that are code together
    (with a line ending in `:` that introduces one), and remarks about the author's machine."""
    stale: dict[int, str] = {}
    start = 0
    while start < len(lines):
        longest = min(len(lines), start + LONGEST_COMMENTED_CODE)
        end = next((end for end in range(longest, start, -1) if is_code(lines[start:end])), start)
        if end > start:
            introduced = start > 0 and comment_text(lines[start - 1]).rstrip().endswith(":") and start - 1 not in stale
            stale.update({position: COMMENTED_CODE for position in range(start - introduced, end)})
            start = end
            continue
        if about_machine(lines[start]):
            stale[start] = MACHINE_REMARK
        start += 1
    return stale


class WithoutStaleComments(cst.CSTTransformer):
    """The comments of a statement (above it, at its end, inside its brackets and blocks) without commented-out code
    and remarks about the author's machine; `removed` holds (comment, reason) of each left out."""

    LINE_FIELDS = ("header", "leading_lines", "empty_lines", "footer", "lines_after_decorators")

    def __init__(self) -> None:
        super().__init__()
        self.removed: list[tuple[str, str]] = []

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):
        updated = super().on_leave(original_node, updated_node)
        if not isinstance(updated, cst.CSTNode):
            return updated
        changes = {}
        for name in self.LINE_FIELDS:
            lines = getattr(updated, name, None)
            if isinstance(lines, (list, tuple)) and any(isinstance(line, cst.EmptyLine) and line.comment for line in lines):
                changes[name] = self.kept(list(lines))
        return updated.with_changes(**changes) if changes else updated

    def kept(self, lines: list[cst.EmptyLine]) -> list[cst.EmptyLine]:
        """The lines, each run of comment lines without its stale ones."""
        kept: list[cst.EmptyLine] = []
        run: list[cst.EmptyLine] = []
        texts: list[str] = []
        for line in [*lines, None]:
            if line is not None and line.comment is not None:
                run.append(line)
                texts.append(line.comment.value)
                continue
            stale = stale_lines(texts)
            self.removed += [(texts[position], reason) for position, reason in sorted(stale.items())]
            kept += [comment for position, comment in enumerate(run) if position not in stale]
            run, texts = [], []
            if line is not None:
                kept.append(line)
        return kept

    def leave_TrailingWhitespace(self, original_node: cst.TrailingWhitespace, updated_node: cst.TrailingWhitespace):
        if updated_node.comment is None:
            return updated_node
        reason = stale_lines([updated_node.comment.value]).get(0)
        if reason is None:
            return updated_node
        self.removed.append((updated_node.comment.value, reason))
        return updated_node.with_changes(comment=None, whitespace=cst.SimpleWhitespace(""))
