"""Secrets in Python source: each string literal scanned with the name it is bound to, and comments; code
none of whose literals could hold one is not visited.
"""

from __future__ import annotations

import ast
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import cast

import libcst as cst

from .detectors import BASIC_AUTH_CALLS, Secret, detect_text, scan_literal


class SecretFinder(cst.CSTVisitor):
    """Visits string literals with the name they are bound to."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code
        self.names: list[str | None] = []
        self.call_names: list[str | None] = []
        self.not_values: set[int] = set()
        self.positional_password: int | None = None
        self.seen: Counter = Counter()
        self.found: list[Secret] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        self.names.append(target_name(node.targets[0].target))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self.names.pop()

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names.append(target_name(node.target))

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self.names.pop()

    def visit_Call(self, node: cst.Call) -> None:
        """`os.environ.setdefault("KEY", value)` and `os.putenv("KEY", value)` name their value KEY."""
        callee = node.func.attr.value if isinstance(node.func, cst.Attribute) else getattr(node.func, "value", "")
        if callee in BASIC_AUTH_CALLS and len(node.args) >= 2 and node.args[1].keyword is None:
            self.positional_password = id(node.args[1])
        named = callee in ("setdefault", "putenv")
        first = node.args[0].value if named and node.args else None
        self.call_names.append(cast(str, first.evaluated_value) if isinstance(first, cst.SimpleString) else None)  # environ keys are text
        if isinstance(first, cst.SimpleString):
            self.not_values.add(id(first))

    def leave_Call(self, original_node: cst.Call) -> None:
        self.call_names.pop()

    def visit_Arg(self, node: cst.Arg) -> None:
        positional = self.call_names[-1] if self.call_names else None
        if id(node) == self.positional_password:
            positional = "password"
        self.names.append(node.keyword.value if node.keyword is not None else positional)

    def visit_Param(self, node: cst.Param) -> None:
        """`def connect(password="...")`: a default is bound to its parameter's name."""
        self.names.append(node.name.value)

    def leave_Param(self, original_node: cst.Param) -> None:
        self.names.pop()

    def visit_SubscriptElement(self, node: cst.SubscriptElement) -> None:
        if isinstance(node.slice, cst.Index):
            self.not_values.add(id(node.slice.value))

    def leave_Arg(self, original_node: cst.Arg) -> None:
        self.names.pop()

    def visit_DictElement(self, node: cst.DictElement) -> None:
        self.not_values.add(id(node.key))
        key = node.key.evaluated_value if isinstance(node.key, cst.SimpleString) else None
        self.names.append(key if isinstance(key, str) else None)

    def leave_DictElement(self, original_node: cst.DictElement) -> None:
        self.names.pop()

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if id(node) not in self.not_values:
            self.scan(as_text(node.evaluated_value), node.value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self.scan(node.value, node.value)

    def visit_Comment(self, node: cst.Comment) -> None:
        """A comment is often code commented out (`# API_KEY = "sk-..."`): scanned as code, with the names its
        literals are bound to, or, when it does not parse, as text (token shapes and URL credentials only)."""
        found = detect(node.value.lstrip("#").strip())
        if found:
            self.seen[node.value] += 1
            line = line_of(self.code, node.value, self.seen[node.value])
            self.found += [replace(secret, line=line) for secret in found if not self.holds(secret)]

    def holds(self, secret: Secret) -> bool:
        return any(secret.value in other.value or other.value in secret.value for other in self.found)

    def scan(self, value: str, text: str) -> None:
        """Scans the value of the literal written `text`. Literals are visited in source order, so the n-th visit of a
        text is its n-th occurrence in the code: its line is looked up only when it holds a secret."""
        self.seen[text] += 1
        found = scan_literal(value, self.names[-1] if self.names else None, 0)
        if found:
            line = line_of(self.code, text, self.seen[text])
            self.found += [replace(secret, line=line + text[: max(text.find(secret.value), 0)].count("\n")) for secret in found]


def target_name(target: cst.BaseExpression) -> str | None:
    """`key = ...` -> key; `cfg.api_key = ...` -> api_key; `os.environ["TOKEN"] = ...` -> TOKEN."""
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            value = index.value.evaluated_value
            return value if isinstance(value, str) else None
    return None


def line_of(code: str, text: str, occurrence: int = 1) -> int:
    position = -1
    for _ in range(occurrence):
        position = code.find(text, position + 1)
        if position < 0:
            return 1
    return code.count("\n", 0, position) + 1


def as_text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def may_fire(value: str) -> bool:
    """False for a value no detector fires on whatever its name: every token shape, URL with a password,
    random-looking or high-entropy value is 8 characters or more, and a shorter secret is a `pwd=...` field."""
    return len(value) >= 8 or "=" in value


def may_hold_secret(code: str, python: Sequence[ast.AST] | None = None) -> bool:
    """False only for code none of whose literals or comments can hold a secret: code without a quote has no literal; else
    Python's own parser (far cheaper than a libcst visit) gives the value of each literal (adjacent literals joined,
    which can only make a value longer). An f-string, or code `ast` cannot parse, may hold one. `python`: what
    Python's parser already made of `code`, when the caller has it."""
    if "#" in code:  # a comment, or a literal holding "#": comments are scanned too
        return True
    if "'" not in code and '"' not in code:
        return False
    trees = python if python is not None else python_trees(code)
    if trees is None:
        return True
    return any(isinstance(node, ast.JoinedStr) or may_fire_constant(node) for tree in trees for node in ast.walk(tree))


def python_trees(code: str) -> list[ast.AST] | None:
    """Python's own parse of `code`, or None when it cannot parse it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [ast.parse(code)]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def may_fire_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and may_fire(as_text(node.value))


def find_in(node: cst.CSTNode, code: str, python: Sequence[ast.AST] | None = None) -> list[Secret]:
    """Secrets in a parsed node whose source text is `code` (lines are relative to it, `python` what Python's own
    parser made of it, when the caller has it); the node is visited only when its code may hold one."""
    if not may_hold_secret(code, python):
        return []
    finder = SecretFinder(code)
    node.visit(finder)
    return finder.found


def detect(code: str) -> list[Secret]:
    """Secrets in Python source code; code that does not parse is scanned as one literal per line."""
    try:
        module = cst.parse_module(code)
    except cst.ParserSyntaxError:
        return detect_text(code)
    return find_in(module, code)
