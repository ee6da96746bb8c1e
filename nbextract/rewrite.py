"""Stage 5: rewrite the planned statements into code pieces with libcst: stage functions, helpers, training script.

Each piece keeps its provenance: each block of consecutive statements from one cell carries one `# cell N, lines
M-K` comment, as nbdev's markers do. Comments that are code commented out, or remarks about the author's machine, are
left out (and listed, so the report shows them).
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
import networkx as nx
from libcst.helpers import get_full_name_for_node
from libcst.metadata import GlobalScope, ScopeProvider

from . import knowledge
from .document import Origin
from .graph import Statement, nodes_of
from .knowledge import is_device
from .lift import Lifted, Lifter
from .secrets import redact
from .slice import INFERENCE_STAGES, PREDICTION_NAME, Artifact, Plan, binds_device, is_no_grad_block, is_replayable
from .slice.roles import is_constant

RESERVED_KEYS = {"batch_size", "device", "artifacts_dir"}
STAGE_FUNCTIONS = {"preprocess": "preprocess", "infer": "infer", "postprocess": "postprocess"}


@dataclass(frozen=True)
class Param:
    """A stage function's parameter and where the pipeline takes its value: input, stage, artifact or config."""

    name: str
    source: str
    key: str


@dataclass
class StageCode:
    stage: str
    function: str
    params: list[Param]
    returns: list[str]
    code: str
    imports: list[str]
    helper_names: list[str]
    origins: list[str]


@dataclass
class Code:
    """Everything the templates need that is code rather than data."""

    stages: dict[str, StageCode]
    helpers: str
    helper_imports: list[str]
    helper_names: list[str]
    train_body: str
    train_imports: list[str]
    train_helper_names: list[str]
    train_uses_secrets: bool = False
    lifted: list[Lifted] = field(default_factory=list)
    read_secrets: list[str] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)
    """origin, comment and reason of each comment left out of the package (commented-out code, machine remarks)"""
    metrics: list[dict] = field(default_factory=list)
    """name and origin of each metric of the source's evaluation that training records into metrics.json"""


def rewrite(plan: Plan) -> Code:
    statements = plan.graph.statements
    taken = {value.key for value in plan.config} | RESERVED_KEYS
    lifter = Lifter(Path(plan.graph.document.path).resolve().parent, taken, plan.graph, frozenset(plan.train))
    helper_set = set(plan.helpers) | class_closure(plan)
    helper_names = sorted({name for index in helper_set for name in statements[index].defines})
    helpers = sorted(index for index in helper_set if not sets_environment(statements[index]))
    lazy = secret_constants(plan, helpers)
    left_out: list[dict] = []
    order = ("preprocess", "infer", "postprocess")
    stages = {
        stage: stage_code(plan, stage, [index for later in order[position + 1 :] for index in plan.stages[later]], helper_set, lazy, left_out)
        for position, stage in enumerate(order)
    }
    train = [
        index
        for index in plan.train
        if index not in helper_set and statements[index].kind != "import" and not sets_environment(statements[index])
    ]
    evaluation = evaluation_statements(plan, [*train, *helper_set]) if train else []
    metrics = metric_names(plan, evaluation)
    train_body = train_code(plan, train, Training(lifter, lazy, left_out, evaluation, metrics))
    read_in_training = {name for index in [*train, *evaluation] for name in written_reads(statements[index])}
    return Code(
        stages=stages,
        helpers=module_code(helper_nodes(plan, helpers, lazy, left_out)),
        helper_imports=imports_for(plan, helpers, reads_of_helpers(plan, helpers))
        + (["from .config import secret"] if uses_secrets(plan, helpers) else []),
        helper_names=helper_names,
        train_body=train_body,
        lifted=list(lifter.values.values()),
        train_imports=imports_for(plan, sorted({*train, *evaluation}), None),
        train_helper_names=sorted(set(helper_names) & read_in_training),
        train_uses_secrets=uses_secrets(plan, train),
        read_secrets=secrets_read(plan, [*helpers, *train, *evaluation, *(index for stage in order for index in plan.stages[stage])]),
        left_out=left_out,
        metrics=[{"name": name, "origin": str(statements[index].origin)} for index, names in metrics.items() for name in names.values()],
    )


def class_closure(plan: Plan) -> set[int]:
    """The classes training defines and the functions it passes as values (`FunctionTransformer(double)`): fitted
    state may hold them, and pickle finds them by module, so the package and train.py import them from helpers.py;
    with the functions, classes and constants their bodies use."""
    statements = plan.graph.statements
    pending = [index for index in plan.train if statements[index].kind == "class"] + passed_functions(plan)
    end = max(plan.train, default=0) + 1
    found: set[int] = set()
    while pending:
        index = pending.pop()
        if index in found:
            continue
        found.add(index)
        for name in sorted(statements[index].body_reads | statements[index].reads):
            binder = plan.graph.binder(end, name)
            if binder is not None and binder in plan.train and is_replayable(plan.graph, binder):
                pending.append(binder)
    return {index for index in found if statements[index].kind != "import"}


def passed_functions(plan: Plan) -> list[int]:
    """The functions training defines and reads as values, not calls."""
    statements = plan.graph.statements
    found = []
    for index in plan.train:
        statement = statements[index]
        for name in statement.reads - statement.calls - statement.via_calls:
            binder = statement.sources.get(name)
            if binder is not None and binder in plan.train and statements[binder].kind == "def":
                found.append(binder)
    return found


def stage_code(plan: Plan, stage: str, later: list[int], helper_set: set[int], lazy: dict[str, int], left_out: list[dict]) -> StageCode:
    """One stage as a function: parameters are what its statements read from outside it, returns what later reads."""
    statements = plan.graph.statements
    indices = plan.stages[stage]
    inside = set(indices)
    artifacts = {artifact.variable: artifact for artifact in plan.artifacts}
    config = {value.variable: value for value in plan.config}
    params: dict[str, Param] = {}
    for index in indices:
        for name, binder in sorted(statements[index].sources.items()):
            if binder in inside or statements[binder].kind == "import" or binder in helper_set:
                continue
            if name in artifacts and artifacts[name].statement == binder:
                params.setdefault(name, Param(name, "artifact", name))
            elif name in config and config[name].statement == binder:
                params.setdefault(name, Param(name, "config", config[name].key))
            elif plan.devices.get(name) == binder:
                params.setdefault(name, Param(name, "device", "device"))
            elif binder == plan.input.statement and name == plan.input.name:
                params.setdefault(name, Param(name, "input", name))
            else:
                params.setdefault(name, Param(name, "stage", name))
    if not indices:
        name = upstream_value(plan, stage)
        params[name] = Param(name, "input" if stage == "preprocess" else "stage", name)
    returns = stage_returns(plan, indices, later) if indices else [next(iter(params))]
    data = sorted((p for p in params.values() if p.source in ("input", "stage")), key=lambda p: p.name)
    rest = sorted((p for p in params.values() if p.source not in ("input", "stage")), key=lambda p: (p.source, p.name))
    ordered = data + rest
    body = with_origins(
        [
            (when_read(provenance(as_assignment(plan, statements[index]), statements[index], "device", left_out), statements[index], lazy), statements[index])
            for index in indices
        ]
    )
    if any(pins_device(statements[index]) for index in indices) and "device" not in params:
        ordered.append(Param("device", "device", "device"))
    batching = ConfiguredBatchSize()
    body = [node.visit(batching) for node in body] if keeps_every_batch(plan) else body
    if batching.changed and "batch_size" not in params:
        ordered.append(Param("batch_size", "config", "batch_size"))
    imports = imports_for(plan, indices, None) + (["from .config import secret"] if uses_secrets(plan, indices) else [])
    if needs_no_grad(plan, stage, ordered):
        body = [without_grad(body)]
        imports += [] if "import torch" in imports else ["import torch"]
    function = function_code(STAGE_FUNCTIONS[stage], [p.name for p in ordered], body, returns, STAGE_DOCS[stage])
    used_helpers = sorted({name for index in indices for name, binder in written_sources(statements[index]).items() if binder in helper_set})
    return StageCode(
        stage,
        STAGE_FUNCTIONS[stage],
        ordered,
        returns,
        function,
        imports,
        used_helpers,
        [str(statements[index].origin) for index in indices],
    )


TORCH_FORMATS = frozenset({"torch", "state_dict", "pretrained"})


def needs_no_grad(plan: Plan, stage: str, params: list[Param]) -> bool:
    """An inference stage applying a torch model, unless the source already runs it under no_grad/inference_mode."""
    formats = {artifact.variable: artifact.format for artifact in plan.artifacts}
    applies_torch = any(formats[param.name] in TORCH_FORMATS for param in params if param.source == "artifact")
    statements = [plan.graph.statements[index] for index in plan.stages[stage]]
    return stage == "infer" and applies_torch and not all(is_no_grad_block(statement) for statement in statements)


def without_grad(body: list[cst.BaseStatement]) -> cst.With:
    """The statements of a torch model's inference, run under `torch.inference_mode()` (no autograd bookkeeping)."""
    item = cst.WithItem(cst.parse_expression("torch.inference_mode()"))
    return cst.With(items=[item], body=cst.IndentedBlock(body=body))


STAGE_DOCS = {
    "preprocess": "Raw input -> model input.",
    "infer": "Model input -> raw predictions.",
    "postprocess": "Raw predictions -> the final output.",
}


def upstream_value(plan: Plan, stage: str) -> str:
    """What an empty stage passes through: the input for preprocess, the prediction for postprocess."""
    if stage == "preprocess":
        return plan.input.name
    return stage_returns(plan, plan.stages["infer"], [])[0]


def stage_returns(plan: Plan, indices: list[int], later: list[int]) -> list[str]:
    """Names bound here that later stages read; the output if it is bound here."""
    statements = plan.graph.statements
    inside = set(indices)
    if plan.output.statement in inside:
        return [plan.output.name]
    names = sorted({name for index in later for name, binder in statements[index].sources.items() if binder in inside})
    return names or [bound(statements[indices[-1]])]


def bound(statement: Statement) -> str:
    return sorted(statement.defines)[0] if statement.defines else PREDICTION_NAME


def as_assignment(plan: Plan, statement: Statement) -> cst.BaseStatement:
    """A bare prediction expression `clf.predict(X)` becomes `prediction = clf.predict(X)`."""
    node = statement.node
    is_output = statement.index == plan.output.statement and plan.output.name == PREDICTION_NAME
    if is_output and isinstance(node, cst.SimpleStatementLine) and isinstance(node.body[0], cst.Expr):
        assign = cst.Assign(targets=[cst.AssignTarget(cst.Name(PREDICTION_NAME))], value=node.body[0].value)
        return node.with_changes(body=[assign])
    return node


def provenance(
    node: cst.BaseStatement, statement: Statement, device: str | None = None, left_out: list[dict] | None = None
) -> cst.BaseStatement:
    """The statement as emitted: secrets read from the environment, pinned devices replaced by `device` (an
    expression) when given; its comments without commented-out code and remarks about the author's machine, which
    are added to `left_out` (when given) with the statement's origin."""
    if statement.secrets:
        node = node.visit(SecretsFromEnvironment(statement.secrets))
    if device is not None and pins_device(statement):
        node = node.visit(DeviceAtRunTime(device))
    comments = WithoutStaleComments()
    node = node.with_changes(leading_lines=comment_lines(node)).visit(comments)
    for comment, reason in comments.removed:
        entry = {"origin": str(statement.origin), "comment": redact(comment, statement.secrets), "reason": reason}
        if left_out is not None and entry not in left_out:
            left_out.append(entry)
    return node


def comment_lines(node: cst.BaseStatement) -> list[cst.EmptyLine]:
    """The comment lines above a statement, without its blank lines."""
    return [line for line in node.leading_lines if line.comment is not None]


def with_origins(emitted: list[tuple[cst.BaseStatement, Statement | None]]) -> list[cst.BaseStatement]:
    """The emitted statements, a `# cell N, lines M-K` comment on top of each block of consecutive statements of one
    cell (an added statement, with no origin, ends a block)."""
    nodes = []
    for position, (node, statement) in enumerate(emitted):
        previous = emitted[position - 1][1] if position else None
        if statement is None or (previous is not None and continues(previous, statement)):
            nodes.append(node)
        else:
            nodes.append(with_origin(node, block_from(emitted, position)))
    return nodes


def block_from(emitted: list[tuple[cst.BaseStatement, Statement | None]], position: int) -> list[Statement]:
    """The statements of the block starting at `position`."""
    block = [emitted[position][1]]
    for _, following in emitted[position + 1 :]:
        if following is None or not continues(block[-1], following):
            break
        block.append(following)
    return block


def continues(before: Statement, statement: Statement) -> bool:
    """Whether `statement` carries on the block `before` is in: the same cell (the next statement, in a plain script)."""
    if before.origin.cell is None:
        return statement.origin.cell is None and statement.index == before.index + 1
    return statement.origin.cell == before.origin.cell


def with_origin(node: cst.BaseStatement, block: list[Statement]) -> cst.BaseStatement:
    first, last = block[0].origin, block[-1].origin
    origin = Origin(first.cell, first.first_line, max(last.last_line, first.last_line))
    comment = cst.EmptyLine(comment=cst.Comment(f"# {origin}"))
    return node.with_changes(leading_lines=[*comment_lines(node), comment])


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


def is_prose(statement: cst.BaseStatement) -> bool:
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
        for line in [*lines, None]:
            if line is not None and line.comment is not None:
                run.append(line)
                continue
            stale = stale_lines([comment.comment.value for comment in run])
            self.removed += [(run[position].comment.value, reason) for position, reason in sorted(stale.items())]
            kept += [comment for position, comment in enumerate(run) if position not in stale]
            run = []
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


def pins_device(statement: Statement) -> bool:
    return bool(statement.devices) or any(method == "cuda" for _, method in statement.methods)


class DeviceAtRunTime(cst.CSTTransformer):
    """`"cuda:0"` and `.cuda()` become the device resolved at run time from config."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device

    def leave_SimpleString(self, original_node: cst.SimpleString, updated_node: cst.SimpleString) -> cst.BaseExpression:
        value = original_node.evaluated_value
        return cst.parse_expression(self.device) if isinstance(value, str) and is_device(value) else updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = updated_node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "cuda" and not updated_node.args:
            return updated_node.with_changes(
                func=func.with_changes(attr=cst.Name("to")), args=[cst.Arg(cst.parse_expression(self.device))]
            )
        return updated_node


COLLECTING_CALLS = frozenset({"append", "extend", "cat", "concatenate", "stack", "vstack", "hstack"})


def keeps_every_batch(plan: Plan) -> bool:
    """Whether the inference path keeps the answer of every batch, so that it may batch by the configured batch_size:
    not when a loop over batches only assigns (`for xb, _ in loader: y_pred = model(xb)` keeps the last batch's
    answer, which a new batch size would change)."""
    indices = [index for stage in INFERENCE_STAGES for index in plan.stages.get(stage, [])]
    loops = [loop for index in indices for loop in nodes_of(plan.graph.statements[index].node, cst.For)]
    return all(collects(loop) for loop in loops)


def collects(loop: cst.For) -> bool:
    """A loop that appends, concatenates, stores into an item or adds up what each turn computes."""
    called = {name for call in nodes_of(loop.body, cst.Call) if (name := called_name(call))}
    stores = [target for assign in nodes_of(loop.body, cst.Assign) for target in assign.targets if isinstance(target.target, cst.Subscript)]
    return bool(called & COLLECTING_CALLS or stores or nodes_of(loop.body, cst.AugAssign))


def called_name(call: cst.Call) -> str | None:
    """`append` of `parts.append(x)`, `cat` of `torch.cat(parts)`, `len` of `len(x)`."""
    if isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    return call.func.value if isinstance(call.func, cst.Name) else None


class ConfiguredBatchSize(cst.CSTTransformer):
    """`DataLoader(ds, batch_size=8)` on the inference path batches by the configured batch_size instead."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = False

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        keyword = original_node.keyword
        if keyword is None or keyword.value != "batch_size" or not isinstance(original_node.value, cst.Integer):
            return updated_node
        self.changed = True
        return updated_node.with_changes(value=cst.Name("batch_size"))


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


def assigned_name(node: cst.BaseStatement) -> str | None:
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


def when_read(node: cst.BaseStatement, statement: Statement, lazy: dict[str, int]) -> cst.BaseStatement:
    """The emitted statement with the secret constants `lazy` read when needed: the binding of one becomes its
    function, and each read of one (not of a later binding of its name) a call of it."""
    read = lazy_reads(statement, lazy)
    if read:
        node = cst.MetadataWrapper(cst.Module([node]), unsafe_skip_copy=True).visit(CallsOf(read)).body[0]
    name = assigned_name(node)
    if name is None or lazy.get(name) != statement.index:
        return node
    value = cst.SimpleStatementLine([cst.Return(node.body[0].value)])
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


def function_code(name: str, params: list[str], body: list[cst.BaseStatement], returns: list[str], doc: str) -> str:
    """`def name(params): "doc"; body; return returns` (no return statement when `returns` is empty)."""
    docstring = cst.SimpleStatementLine([cst.Expr(cst.SimpleString(f'"""{doc}"""'))])
    tail = []
    if returns:
        value = cst.Name(returns[0]) if len(returns) == 1 else cst.Tuple([cst.Element(cst.Name(r)) for r in returns])
        tail = [cst.SimpleStatementLine([cst.Return(value)])]
    function = cst.FunctionDef(
        name=cst.Name(name),
        params=cst.Parameters(params=[cst.Param(cst.Name(param)) for param in params]),
        body=cst.IndentedBlock(body=spaced([docstring, *body, *tail], 1)),
    )
    return cst.Module(body=[function]).code


def spaced(nodes: list[cst.BaseStatement], blank: int) -> list[cst.BaseStatement]:
    """The statements with the empty lines black puts before and after each def and class (`blank`: 1 in a function
    body, 2 at module level), so that code already in black's style takes black one pass, not two."""
    spaced_nodes = nodes[:1]
    for before, node in zip(nodes, nodes[1:]):
        if is_definition(before) or is_definition(node):
            node = node.with_changes(leading_lines=[*[cst.EmptyLine(indent=False)] * blank, *comment_lines(node)])
        spaced_nodes.append(node)
    return spaced_nodes


def is_definition(node: cst.BaseStatement) -> bool:
    return isinstance(node, (cst.FunctionDef, cst.ClassDef))


def helper_nodes(plan: Plan, indices: list[int], lazy: dict[str, int], left_out: list[dict]) -> list[cst.BaseStatement]:
    statements = plan.graph.statements
    emitted = [(when_read(provenance(statements[index].node, statements[index], left_out=left_out), statements[index], lazy), statements[index]) for index in indices]
    return with_origins(emitted)


def module_code(nodes: list[cst.BaseStatement]) -> str:
    return cst.Module(body=spaced(nodes, 2)).code if nodes else ""


def reads_of_helpers(plan: Plan, helpers: list[int]) -> dict[str, int]:
    """name -> binder for everything helper code reads, bodies included, as of the prediction."""
    statements = plan.graph.statements
    reads = {}
    for index in helpers:
        for name in statements[index].body_reads | statements[index].reads:
            binder = plan.graph.binder(plan.prediction, name)
            if binder is not None:
                reads[name] = binder
    return reads


def imports_for(plan: Plan, indices: list[int], reads: dict[str, int] | None) -> list[str]:
    """Import statements binding the names these statements read, trimmed to those names, in source order."""
    statements = plan.graph.statements
    wanted: dict[int, set[str]] = {}
    end = max(indices, default=0) + 1
    pairs = reads.items() if reads is not None else [
        (name, binder) for index in indices for name, binder in emitted_sources(plan, statements[index], end).items()
    ]
    for name, binder in pairs:
        if statements[binder].kind == "import":
            wanted.setdefault(binder, set()).add(name)
    return [trimmed_import(statements[binder].node, names) for binder, names in sorted(wanted.items())]


def written_reads(statement: Statement) -> set[str]:
    """The names the statement's own code reads, not those read only in the body of a function it calls."""
    return statement.reads - statement.via_calls


def written_sources(statement: Statement) -> dict[str, int]:
    """name -> binder of the names the statement's own code reads (the code that is emitted needs their imports)."""
    return {name: binder for name, binder in statement.sources.items() if name not in statement.via_calls}


def emitted_sources(plan: Plan, statement: Statement, end: int) -> dict[str, int]:
    """name -> binder of what the statement's emitted code reads: its own code, and the body of a def or class (the
    binder as of `end`, when the function runs)."""
    body = {name: plan.graph.binder(end, name) for name in statement.body_reads}
    return {**{name: binder for name, binder in body.items() if binder is not None}, **written_sources(statement)}


def trimmed_import(node: cst.SimpleStatementLine, names: set[str]) -> str:
    statement = node.body[0]
    if isinstance(statement.names, cst.ImportStar):
        return cst.Module(body=[node.with_changes(leading_lines=[])]).code.strip()
    kept = [alias for alias in statement.names if alias_name(alias) in names]
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if isinstance(statement, cst.ImportFrom):
        statement = statement.with_changes(names=kept, lpar=None, rpar=None)
    else:
        statement = statement.with_changes(names=kept)
    return cst.Module(body=[cst.SimpleStatementLine([statement])]).code.strip()


def alias_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None:
        return alias.asname.name.value
    return cst.Module(body=[]).code_for_node(alias.name).split(".")[0]


RUN_TIME_DEVICE = "resolve_device(project_settings.device)"


class RecordArguments(cst.CSTTransformer):
    """`MLP(a, b)` becomes `build_module("model", MLP, a, b)`: the same module, with its constructor arguments
    remembered so that save_artifact records them beside the state_dict (the package rebuilds the module from them)."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__()
        self.artifact = artifact

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not (isinstance(original_node.func, cst.Name) and original_node.func.value == self.artifact.module):
            return updated_node
        recorded = [cst.Arg(cst.SimpleString(repr(self.artifact.variable))), cst.Arg(updated_node.func)]
        return updated_node.with_changes(func=cst.Name("build_module"), args=[*recorded, *updated_node.args])


METRICS_VARIABLE = "project_metrics"
NOT_ONE_NUMBER = ("_report", "confusion_matrix", "_curve", "cross_val")


@dataclass(frozen=True)
class Training:
    """What train_code needs besides the plan: the lifter, the secret constants, where left-out comments go, the
    source's evaluation statements replayed after training and the names of the metrics they compute."""

    lifter: Lifter
    lazy: dict[str, int]
    left_out: list[dict]
    evaluation: list[int]
    metrics: dict[int, dict[str, str]]


def train_code(plan: Plan, indices: list[int], training: Training) -> str:
    """`def main(project_settings)`: the training statements in source order (their path settings resolved against the
    project), each fitted state saved right after the statement that makes it (and handed to the package's helpers
    when they read it) into the staged artifact set; then the source's evaluation, its metrics recorded into the set."""
    statements = plan.graph.statements
    saves: dict[int, list[str]] = {}
    for artifact in plan.artifacts:
        saves.setdefault(artifact.statement, []).append(artifact.variable)
    emitted: list[tuple[cst.BaseStatement, Statement | None]] = []
    if training.evaluation:
        emitted.append((cst.parse_statement(f"{METRICS_VARIABLE} = {{}}\n"), None))
    rebuilt = {artifact.construction: artifact for artifact in plan.artifacts if artifact.format == "state_dict"}
    kept = {*saves_of(saves), *plan.helper_globals, *([plan.reference.name] if plan.reference else [])}
    for position, index in enumerate(indices):
        node = unpacked_only_as_read(statements[index], [*indices[position + 1 :], *training.evaluation], plan, kept)
        if binds_device(statements[index]):
            node = node.with_changes(body=[node.body[0].with_changes(value=cst.parse_expression(RUN_TIME_DEVICE))])
        if index in rebuilt:
            node = node.visit(RecordArguments(rebuilt[index]))
        node = when_read(provenance(node, statements[index], RUN_TIME_DEVICE, training.left_out), statements[index], training.lazy)
        emitted.append((training.lifter.lift(node, statements[index]), statements[index]))
        for variable in saves.get(index, []):
            emitted.append((cst.parse_statement(f'save_artifact(project_settings, "{variable}", {variable})\n'), None))
            if variable in plan.helper_globals:
                emitted.append((cst.parse_statement(f"package_helpers.{variable} = {variable}\n"), None))
        if plan.reference is not None and index == plan.reference.statement:
            emitted.append((cst.parse_statement(f"save_profile(project_settings, {plan.reference.name})\n"), None))
    for index in training.evaluation:
        node = provenance(statements[index].node, statements[index], RUN_TIME_DEVICE, training.left_out)
        emitted.append((node.visit(NotedMetrics(training.metrics.get(index, {}))), statements[index]))
    if training.evaluation:
        emitted.append((cst.parse_statement(f"save_metrics(project_settings, {METRICS_VARIABLE})\n"), None))
    doc = "Rebuild the fitted state into the artifact set `project_settings` stages."
    return function_code("main", ["project_settings"], with_origins(emitted), [], doc)


def saves_of(saves: dict[int, list[str]]) -> list[str]:
    return [variable for variables in saves.values() for variable in variables]


def unpacked_only_as_read(statement: Statement, later: list[int], plan: Plan, kept: set[str]) -> cst.BaseStatement:
    """The statement with each name it unpacks that nothing after it reads (nor saves) written `_`:
    `X_train, _, y_train, _ = train_test_split(X, y)`."""
    node = statement.node
    if not isinstance(node, cst.SimpleStatementLine) or not isinstance(node.body[0], cst.Assign):
        return node
    assign = node.body[0]
    if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, (cst.Tuple, cst.List)):
        return node
    statements = plan.graph.statements
    read = kept | {name for index in later for name in statements[index].reads | statements[index].body_reads}
    target = assign.targets[0].target
    elements = [
        element.with_changes(value=cst.Name("_"))
        if isinstance(element.value, cst.Name) and element.value.value not in read
        else element
        for element in target.elements
    ]
    if all(isinstance(element.value, cst.Name) and element.value.value == "_" for element in elements):
        return node
    targets = [assign.targets[0].with_changes(target=target.with_changes(elements=elements))]
    return node.with_changes(body=[assign.with_changes(targets=targets), *node.body[1:]])


def evaluation_statements(plan: Plan, made_by_training: list[int]) -> list[int]:
    """The source's evaluation that training can replay after it: statements computing a metric (not refitting, not
    drawing), with what they read made by training (its statements and the helpers it imports), by the inference
    path or by constants, and those statements of the inference path and constants themselves; in source order."""
    graph = plan.graph
    made = set(made_by_training)
    inference = set(plan.inference) | {plan.prediction}
    chosen: set[int] = set()
    for index, statement in enumerate(graph.statements):
        if index in made or index in inference or not computes_metric(statement):
            continue
        needed = {ancestor for ancestor in nx.ancestors(graph.graph, index) if ancestor not in made and graph.statements[ancestor].kind != "import"}
        if all(ancestor in inference or is_constant(graph, ancestor) or graph.statements[ancestor].hoisted for ancestor in needed):
            chosen |= needed | {index}
    return sorted(chosen)


def computes_metric(statement: Statement) -> bool:
    """A call computing one number (accuracy_score, mean_squared_error, a `.score()`; not a report, a matrix or a
    curve, not cross-validation, which refits), in a statement that draws nothing."""
    if any(knowledge.is_plot(call) for call in statement.calls):
        return False
    return bool(metric_callees(statement))


def metric_names(plan: Plan, evaluation: list[int]) -> dict[int, dict[str, str]]:
    """statement -> (callee as written -> metric name) of the metric calls of each evaluation statement; a name
    used again gets a number (f1_score, f1_score_2)."""
    seen: Counter[str] = Counter()
    names: dict[int, dict[str, str]] = {}
    for index in evaluation:
        for callee in metric_callees(plan.graph.statements[index]):
            base = callee.split(".")[-1] if callee.split(".")[-1] != "score" else callee.replace(".", "_")
            seen[base] += 1
            names.setdefault(index, {})[callee] = base if seen[base] == 1 else f"{base}_{seen[base]}"
    return names


def metric_callees(statement: Statement) -> list[str]:
    """The callees of the statement's metric calls as written (`accuracy_score`, `metrics.f1_score`, `clf.score`),
    in order."""
    metric_tails = {
        call.split(".")[-1]
        for call in statement.calls
        if knowledge.is_metric(call) and not any(marker in call for marker in NOT_ONE_NUMBER)
    }
    callees = []
    for node in walk_calls(statement.node):
        name = get_full_name_for_node(node.func) or ""
        if name.split(".")[-1] in metric_tails or (name.endswith(".score") and name.count(".") == 1):
            if name not in callees:
                callees.append(name)
    return callees


def walk_calls(node: cst.CSTNode) -> list[cst.Call]:
    """Every call in `node`, outermost first."""
    calls = Calls()
    node.visit(calls)
    return calls.found


class Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)


class NotedMetrics(cst.CSTTransformer):
    """Each metric call `accuracy_score(a, b)` becomes `noted(project_metrics, "accuracy_score", accuracy_score(a, b))`:
    the same value, kept for metrics.json."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names
        self.enclosing_quotes: list[str] = []

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self.enclosing_quotes.append(node.start[-1])

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:
        self.enclosing_quotes.pop()
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        name = self.names.get(get_full_name_for_node(original_node.func) or "")
        quote = self.free_quote()
        if name is None or quote is None:
            return updated_node
        label = cst.SimpleString(f"{quote}{name}{quote}")
        arguments = [cst.Arg(cst.Name(METRICS_VARIABLE)), cst.Arg(label), cst.Arg(updated_node)]
        return cst.Call(cst.Name("noted"), arguments)

    def free_quote(self) -> str | None:
        """A quote the f-strings around the call do not use (before Python 3.12 an f-string's expressions cannot
        reuse its quote), or None when they use both."""
        return next((quote for quote in ('"', "'") if quote not in self.enclosing_quotes), None)
