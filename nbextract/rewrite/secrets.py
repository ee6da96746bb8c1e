"""Secrets in emitted code: read from the environment (`secret("ENV")`), and constants made from them read
only when code that needs them runs."""

from __future__ import annotations

from collections import Counter
from typing import cast

import libcst as cst
from libcst.metadata import GlobalScope, ScopeProvider

from ..graph import Statement
from ..graph.nodes import TopLevel
from ..secrets import redact
from ..slice import Plan


class SecretsFromEnvironment(cst.CSTTransformer):
    """A literal holding a secret becomes `secret("ENV")`, read from the environment by the generated config."""

    def __init__(self, secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def env_for(self, text: str) -> str | None:
        return next((secret.env for secret in self.secrets if secret.value in text), None)

    def leave_SimpleString(self, original_node: cst.SimpleString, updated_node: cst.SimpleString) -> cst.BaseExpression:
        value = original_node.evaluated_value
        env = self.env_for(value if isinstance(value, str) else original_node.value)
        return updated_node if env is None else cst.parse_expression(f'secret("{env}")')

    def leave_Comment(self, original_node: cst.Comment, updated_node: cst.Comment) -> cst.Comment:
        """A comment keeps its words; a secret in it (code commented out) becomes the marker of its variable."""
        return updated_node.with_changes(value=redact(original_node.value, self.secrets))

    def leave_FormattedStringText(self, original_node, updated_node):
        env = self.env_for(original_node.value)
        if env is None:
            return updated_node
        return cst.FormattedStringExpression(expression=cst.parse_expression(f"secret({env!r})"))


def sets_environment(statement: Statement) -> bool:
    """`os.environ["KEY"] = "<secret>"`: the environment is where the secret now lives, so the line goes."""
    node = statement.node
    if not statement.secrets or not isinstance(node, cst.SimpleStatementLine) or not isinstance(node.body[0], cst.Assign):
        return False
    target = node.body[0].targets[0].target
    return isinstance(target, cst.Subscript) and "environ" in cst.Module(body=[]).code_for_node(target.value)


def secret_constants(plan: Plan, helpers: list[int]) -> dict[str, int]:
    """Helper constants holding a secret (`API_KEY = secret("API_KEY")`) or made from one (`HEADERS = {"key": API_KEY}`),
    bound once, and the statements binding them: each becomes a function of that name, called where the constant is
    read, so that importing the package asks for no secret until code that needs it runs."""
    statements = plan.graph.statements
    bound = Counter(name for index in helpers for name in statements[index].defines)
    lazy: dict[str, int] = {}
    for index in helpers:
        name = assigned_name(statements[index].node)
        if name is not None and bound[name] == 1 and (statements[index].secrets or lazy_reads(statements[index], lazy)):
            lazy[name] = index
    return lazy


def assigned_name(node: TopLevel) -> str | None:
    """NAME of a statement that is just `NAME = value` (or `NAME: type = value`)."""
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None
    statement = node.body[0]
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
    elif isinstance(statement, cst.AnnAssign) and statement.value is not None:
        target = statement.target
    else:
        return None
    return target.value if isinstance(target, cst.Name) else None


def when_read(node: TopLevel, statement: Statement, lazy: dict[str, int]) -> TopLevel:
    """The emitted statement with the secret constants `lazy` read when needed: the binding of one becomes its
    function, and each read of one (not of a later binding of its name) a call of it."""
    read = lazy_reads(statement, lazy)
    if read:
        node = cst.MetadataWrapper(cst.Module([node]), unsafe_skip_copy=True).visit(CallsOf(read)).body[0]
    name = assigned_name(node)
    if name is None or lazy.get(name) != statement.index:
        return node
    assignment = cast(cst.Assign | cst.AnnAssign, cast(cst.SimpleStatementLine, node).body[0])  # assigned_name
    value = cst.SimpleStatementLine([cst.Return(assignment.value)])
    doc = cst.SimpleStatementLine([cst.Expr(cst.SimpleString(f'"""{name} of the source, read when it is needed."""'))])
    return cst.FunctionDef(cst.Name(name), cst.Parameters(), cst.IndentedBlock([doc, value]), leading_lines=node.leading_lines)


def lazy_reads(statement: Statement, lazy: dict[str, int]) -> set[str]:
    """The secret constants of `lazy` the statement reads, unless it reads a later binding of the name."""
    names = (statement.reads | statement.body_reads) & lazy.keys()
    return {name for name in names if statement.sources.get(name, lazy[name]) == lazy[name]}


class CallsOf(cst.CSTTransformer):
    """Each read of a module-level `names` becomes a call of it: `API_KEY` -> `API_KEY()`."""

    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        scope = self.get_metadata(ScopeProvider, original_node, None)
        if original_node.value not in self.names or scope is None:
            return updated_node
        for access in scope.accesses[original_node.value]:
            if access.node is original_node and all(isinstance(found.scope, GlobalScope) for found in access.referents):
                return cst.Call(updated_node)
        return updated_node


def secrets_read(plan: Plan, emitted: list[int]) -> list[str]:
    """The environment variables of the secrets the emitted statements read (`secret("ENV")`), sorted."""
    return sorted({secret.env for index in emitted for secret in plan.graph.statements[index].secrets})


def uses_secrets(plan: Plan, indices: list[int]) -> bool:
    return any(plan.graph.statements[index].secrets for index in indices)
