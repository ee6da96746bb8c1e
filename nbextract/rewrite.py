"""Stage 5: rewrite the planned statements into code pieces with libcst: stage functions, helpers, training script.

Each piece keeps its provenance: every statement carries a `# cell N, line M` comment, as nbdev's markers do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from .graph import Statement
from .knowledge import is_device
from .lift import Lifted, Lifter
from .secrets import redact
from .slice import PREDICTION_NAME, Artifact, Plan, binds_device, is_no_grad_block, is_replayable

RESERVED_KEYS = {"batch_size", "device", "artifacts_dir", "workdir"}
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


def rewrite(plan: Plan) -> Code:
    statements = plan.graph.statements
    lifter = Lifter(Path(plan.graph.document.path).resolve().parent, {value.key for value in plan.config} | RESERVED_KEYS)
    helper_set = set(plan.helpers) | class_closure(plan)
    helper_names = sorted({name for index in helper_set for name in statements[index].defines})
    order = ("preprocess", "infer", "postprocess")
    stages = {
        stage: stage_code(plan, stage, [index for later in order[position + 1 :] for index in plan.stages[later]], helper_set)
        for position, stage in enumerate(order)
    }
    helpers = sorted(index for index in helper_set if not sets_environment(statements[index]))
    train = [
        index
        for index in plan.train
        if index not in helper_set and statements[index].kind != "import" and not sets_environment(statements[index])
    ]
    train_body = train_code(plan, train, lifter)
    read_in_training = {name for index in plan.train for name in statements[index].reads}
    return Code(
        stages=stages,
        helpers=module_code(statement_nodes(plan, helpers)),
        helper_imports=imports_for(plan, helpers, reads_of_helpers(plan, helpers))
        + (["from .config import secret"] if uses_secrets(plan, helpers) else []),
        helper_names=helper_names,
        train_body=train_body,
        lifted=list(lifter.values.values()),
        train_imports=imports_for(plan, plan.train, None),
        train_helper_names=sorted(set(helper_names) & read_in_training),
        train_uses_secrets=uses_secrets(plan, train),
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


def stage_code(plan: Plan, stage: str, later: list[int], helper_set: set[int]) -> StageCode:
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
    body = [provenance(as_assignment(plan, statements[index]), statements[index], "device") for index in indices]
    if any(pins_device(statements[index]) for index in indices) and "device" not in params:
        ordered.append(Param("device", "device", "device"))
    batching = ConfiguredBatchSize()
    body = [node.visit(batching) for node in body]
    if batching.changed and "batch_size" not in params:
        ordered.append(Param("batch_size", "config", "batch_size"))
    imports = imports_for(plan, indices, None) + (["from .config import secret"] if uses_secrets(plan, indices) else [])
    if needs_no_grad(plan, stage, ordered):
        body = [without_grad(body)]
        imports += [] if "import torch" in imports else ["import torch"]
    function = function_code(STAGE_FUNCTIONS[stage], [p.name for p in ordered], body, returns, STAGE_DOCS[stage])
    used_helpers = sorted({name for index in indices for name, binder in statements[index].sources.items() if binder in helper_set})
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


def provenance(node: cst.BaseStatement, statement: Statement, device: str | None = None) -> cst.BaseStatement:
    """The statement as emitted: secrets read from the environment, pinned devices replaced by `device` (an
    expression) when given, and a `# cell N, line M` comment on top."""
    comment = cst.EmptyLine(comment=cst.Comment(f"# {statement.origin}"))
    if statement.secrets:
        node = node.visit(SecretsFromEnvironment(statement.secrets))
    if device is not None and pins_device(statement):
        node = node.visit(DeviceAtRunTime(device))
    return node.with_changes(leading_lines=[*comment_lines(node), comment])


def comment_lines(node: cst.BaseStatement) -> list[cst.EmptyLine]:
    """The comment lines above a statement, without its blank lines."""
    return [line for line in node.leading_lines if line.comment is not None]


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


def statement_nodes(plan: Plan, indices: list[int]) -> list[cst.BaseStatement]:
    statements = plan.graph.statements
    return [provenance(statements[index].node, statements[index]) for index in indices]


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
    pairs = reads.items() if reads is not None else [
        (name, binder) for index in indices for name, binder in statements[index].sources.items()
    ]
    for name, binder in pairs:
        if statements[binder].kind == "import":
            wanted.setdefault(binder, set()).add(name)
    return [trimmed_import(statements[binder].node, names) for binder, names in sorted(wanted.items())]


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


TRAIN_PROLOGUE = (
    "project_settings = load_settings()\n",
    "os.chdir(project_settings.workdir)\n",
)


def train_code(plan: Plan, indices: list[int], lifter: Lifter) -> str:
    """`def main()`: the training statements in source order, run in the source's folder, each fitted state
    saved right after the statement that makes it (and handed to the package's helpers when they read it)."""
    statements = plan.graph.statements
    saves: dict[int, list[str]] = {}
    for artifact in plan.artifacts:
        saves.setdefault(artifact.statement, []).append(artifact.variable)
    nodes: list[cst.BaseStatement] = [cst.parse_statement(line) for line in TRAIN_PROLOGUE]
    rebuilt = {artifact.construction: artifact for artifact in plan.artifacts if artifact.format == "state_dict"}
    for index in indices:
        node = statements[index].node
        if binds_device(statements[index]):
            node = node.with_changes(body=[node.body[0].with_changes(value=cst.parse_expression(RUN_TIME_DEVICE))])
        if index in rebuilt:
            node = node.visit(RecordArguments(rebuilt[index]))
        emitted = provenance(node, statements[index], RUN_TIME_DEVICE)
        nodes.append(lifter.lift(emitted, statements[index]))
        for variable in saves.get(index, []):
            nodes.append(cst.parse_statement(f'save_artifact(project_settings, "{variable}", {variable})\n'))
            if variable in plan.helper_globals:
                nodes.append(cst.parse_statement(f"package_helpers.{variable} = {variable}\n"))
        if plan.reference is not None and index == plan.reference.statement:
            nodes.append(cst.parse_statement(f"save_profile(project_settings, {plan.reference.name})\n"))
    return function_code("main", [], nodes, [], "Rebuild the fitted state and save it into artifacts/.")
