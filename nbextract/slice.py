"""Stage 4: classify statements and slice the inference path back to the fitted state.

Decisions, in order: the prediction (tag, --output or the last predict-like call), the final output (the prediction
followed through its post-processing), the raw input (walking back through data positions to a split, a loader or
--input), the inference statements (those fed by the input that feed the prediction), the fitted state they read
(artifacts), the training slice that produces it, and a fate with a reason for every other statement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import libcst as cst
import networkx as nx

from . import knowledge
from .errors import ConversionError
from .graph import NO_LITERAL, Finding, Statement, StatementGraph, method_name, nodes_of, root_name
from .options import Options

PREDICTION_NAME = "prediction"
INFERENCE_STAGES = ("preprocess", "infer", "postprocess")


@dataclass(frozen=True)
class Boundary:
    name: str
    statement: int
    origin: str


ARTIFACT_SUFFIXES = {"joblib": ".joblib", "torch": ".pt", "state_dict": ".pt", "pretrained": ""}


@dataclass(frozen=True)
class Artifact:
    """Fitted state and how it is saved: joblib; torch (torch.save of the object, tensors and whole models);
    state_dict (a model class of the source, rebuilt from `module` with the constructor arguments that training
    records at `construction`); pretrained (a Hugging Face folder written by save_pretrained, loaded by `module`)."""

    variable: str
    statement: int
    origin: str
    format: str = "joblib"
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
    stage: str
    reason: str


@dataclass
class Plan:
    graph: StatementGraph
    input: Boundary
    output: Boundary
    prediction: int
    stages: dict[str, list[int]]
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


def plan(graph: StatementGraph, options: Options) -> Plan:
    """The plan, or, when a cell set aside for a syntax error may be what it lacks, that cell's error."""
    if not graph.statements and not graph.broken:
        raise conversion_error(graph, nothing_to_convert(graph))
    try:
        result = plan_statements(graph, options)
    except ConversionError:
        if graph.broken:
            raise graph.broken[0] from None
        raise
    if graph.broken and reads_unbound_names(result):
        raise graph.broken[0]
    graph.findings.extend(finding for finding in random_stream_findings(result) if finding not in graph.findings)
    return result


def nothing_to_convert(graph: StatementGraph) -> str:
    """Why a source without a statement to convert cannot be converted, and what to do."""
    if graph.skipped:
        return "every statement is in a cell tagged nbextract:skip; untag the cells that load data, train and predict"
    return "no code to convert (no code cells, or only blank and comment lines); add the code that trains and predicts"


def random_stream_findings(result: Plan) -> list[Finding]:
    """Statements left out of training that draw random numbers between the seed and the last fit: train.py's
    random stream then differs from the source's, and retrained weights will not match the source's exactly."""
    statements = result.graph.statements
    train = set(result.train)
    seeds = [index for index in result.train if any(knowledge.is_seed(call) for call in statements[index].calls)]
    fitting = [index for index in result.train if fits(statements[index]) or draws_random(result.graph, statements[index])]
    if not seeds or not fitting:
        return []
    return [
        Finding(
            "reproducibility",
            str(statement.origin),
            f"draws random numbers after the seed ({statements[seeds[0]].origin}) and before training "
            f"({statements[fitting[-1]].origin}) but is not training: retrained weights will differ from the "
            "source's; move it after training or tag its cell nbextract:train",
        )
        for statement in statements[seeds[0] + 1 : fitting[-1]]
        if statement.index not in train and draws_random(result.graph, statement)
    ]


def builds_model(graph: StatementGraph, statement: Statement) -> bool:
    """Whether the statement makes a torch module (its weights are drawn at random)."""
    return any(
        maker.startswith("torch.nn.") or module_class(graph, statement.index, maker) for maker in statement.made_by.values()
    )


def draws_random(graph: StatementGraph, statement: Statement) -> bool:
    """Random calls, new torch modules, and batches taken from a (shuffling) DataLoader."""
    if any(knowledge.draws_random(call) for call in statement.calls) or builds_model(graph, statement):
        return True
    takes_batches = "iter" in statement.calls or isinstance(statement.node, cst.For)
    return takes_batches and any(
        maker.endswith("DataLoader")
        for name, binder in statement.sources.items()
        for maker in [graph.statements[binder].made_by.get(name, "")]
    )


def reads_unbound_names(result: Plan) -> bool:
    """Whether kept code reads a name no statement binds (a broken cell may have been meant to bind it)."""
    statements = result.graph.statements
    kept = set(result.inference) | set(result.train) | set(result.helpers)
    return any(statements[index].reads - set(statements[index].sources) for index in kept)


def plan_statements(graph: StatementGraph, options: Options) -> Plan:
    statements = graph.statements
    prediction = find_prediction(graph, options)
    output, post = find_output(graph, prediction, options)
    source = find_input(graph, prediction, options)
    inference = inference_slice(graph, source, prediction, post)
    stages = split_stages(statements, inference, prediction, post)
    outside = external_reads(graph, inference, source)
    artifacts = [saved_form(graph, artifact) for artifact in outside.artifacts.values()]
    config, helpers = list(outside.config.values()), sorted(outside.helpers)
    train = training_slice(graph, artifacts, helpers, inference)
    result = Plan(
        graph, source, output, prediction, stages, train, artifacts, config, helpers, sorted(outside.helper_globals), batch_size(graph)
    )
    result.devices = outside.devices
    result.fates = fates(result)
    result.reference = find_reference(graph, source, train)
    return result


def conversion_error(graph: StatementGraph, message: str) -> ConversionError:
    return ConversionError(message, path=graph.document.path)


def predict_call(statement: Statement) -> str | None:
    """The predict-like method this statement calls on a variable, if any (predict before transform)."""
    methods = [method for _, method in statement.methods]
    for wanted in (*knowledge.PREDICT_METHODS, *knowledge.TRANSFORM_METHODS):
        if wanted in methods:
            return wanted
    return None


def is_evaluation(statement: Statement) -> bool:
    return any(knowledge.is_metric(call) or knowledge.is_plot(call) or call in knowledge.DISPLAY_CALLS for call in statement.calls)


def is_no_grad_block(statement: Statement) -> bool:
    """`with torch.no_grad():` / `with torch.inference_mode():`, the way torch code predicts."""
    return isinstance(statement.node, cst.With) and bool(statement.calls & knowledge.NO_GRAD_CALLS)


def construction(graph: StatementGraph, name: str, index: int) -> int | None:
    """The statement that made the object `name` holds at `index`, following the statements that changed it in
    place (`model.eval()`, a training loop) back to the call that made it (`model = MLP(4).to(device)`)."""
    seen = set()
    current: int | None = index
    while current is not None and current not in seen:
        seen.add(current)
        statement = graph.statements[current]
        if name in statement.made_by:
            return current
        current = statement.sources.get(name)
    return None


def module_class(graph: StatementGraph, index: int, name: str) -> str | None:
    """`name` when the statement at `index` reads it as a class of the source derived from torch's nn.Module."""
    binder = graph.statements[index].sources.get(name)
    seen: set[int] = set()
    pending = [binder] if binder is not None else []
    while pending:
        current = pending.pop()
        statement = graph.statements[current]
        if current in seen or statement.kind != "class":
            continue
        seen.add(current)
        if statement.bases & knowledge.MODULE_BASES:
            return name
        pending.extend(source for base, source in statement.sources.items() if base in statement.bases)
    return None


def saved_form(graph: StatementGraph, artifact: Artifact) -> Artifact:
    """How an artifact is saved, from the call that made it and from what it is computed with."""
    made = construction(graph, artifact.variable, artifact.statement)
    maker = graph.statements[made].made_by[artifact.variable] if made is not None else ""
    module = module_class(graph, made, maker) if made is not None else None
    if module is not None:
        return replace(artifact, format="state_dict", module=module, construction=made)
    if knowledge.is_pretrained(maker):
        return replace(artifact, format="pretrained", module=maker.removesuffix(knowledge.PRETRAINED_SUFFIX), construction=made)
    if made_with_torch(graph, artifact.statement):
        return replace(artifact, format="torch")
    return artifact


def made_with_torch(graph: StatementGraph, index: int) -> bool:
    """Whether torch computes the value (a tensor, a torch.nn container, a loaded torch object)."""
    chain = nx.ancestors(graph.graph, index) | {index}
    return any(call.startswith(knowledge.TORCH_PREFIX) for member in chain for call in graph.statements[member].calls)


def is_model_object(graph: StatementGraph, name: str, binder: int) -> bool:
    """Whether `name` holds a model object there: a torch module, a torch-loaded model or a Hugging Face one."""
    made = construction(graph, name, binder)
    if made is None:
        return False
    maker = graph.statements[made].made_by[name]
    return bool(module_class(graph, made, maker) or knowledge.is_pretrained(maker) or maker.startswith(knowledge.TORCH_MODEL_MAKERS))


def calls_model(graph: StatementGraph, statement: Statement) -> bool:
    """Whether the statement applies a model object: calls it (`model(X)`), or hands it to a function of the source
    (`predict(model, X)`)."""
    calls_source_function = any(
        name in statement.calls and graph.statements[binder].kind == "def" for name, binder in statement.sources.items()
    )
    return any(
        (name in statement.calls or calls_source_function) and is_model_object(graph, name, binder)
        for name, binder in statement.sources.items()
    )


def find_prediction(graph: StatementGraph, options: Options) -> int:
    statements = graph.statements
    if options.output_var:
        binder = graph.binder(len(statements), options.output_var)
        if binder is None:
            raise conversion_error(graph, f"--output {options.output_var}: no statement binds this variable")
        chain = [binder, *sorted(nx.ancestors(graph.graph, binder), reverse=True)]
        return next((index for index in chain if predict_call(statements[index])), binder)
    tagged = [statement.index for statement in statements if statement.tag == "infer"]
    if tagged:
        return tagged[-1]
    ranks = (
        lambda statement: predict_call(statement) in knowledge.PREDICT_METHODS,
        lambda statement: calls_model(graph, statement) and not fits(statement),
        lambda statement: predict_call(statement) in knowledge.TRANSFORM_METHODS,
    )
    for rank in ranks:
        found = [
            statement.index
            for statement in statements
            if (statement.kind in ("assign", "expr") or is_no_grad_block(statement))
            and statement.tag != "train"
            and not is_evaluation(statement)
            and rank(statement)
        ]
        if found:
            return found[-1]
    raise conversion_error(
        graph, "no prediction call found; mark the inference cell with the tag nbextract:infer or pass --output VAR"
    )


def bound_name(statement: Statement) -> str:
    """The variable an assignment binds (its plain target), or PREDICTION_NAME for a bare expression."""
    node = statement.node
    if isinstance(node, cst.With):
        names = [target.target for assign in nodes_of(node.body, cst.Assign) for target in assign.targets]
        plain = [name.value for name in names if isinstance(name, cst.Name)]
        return plain[-1] if plain else PREDICTION_NAME
    small = node.body[0] if isinstance(node, cst.SimpleStatementLine) else None
    if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
        return small.targets[0].target.value
    if isinstance(small, (cst.AnnAssign, cst.AugAssign)) and isinstance(small.target, cst.Name):
        return small.target.value
    return PREDICTION_NAME


def find_output(graph: StatementGraph, prediction: int, options: Options) -> tuple[Boundary, list[int]]:
    """The final output: an explicit --output, else the prediction followed through element-wise post-processing."""
    statements = graph.statements
    if options.output_var:
        binder = graph.binder(len(statements), options.output_var)
        post = [index for index in range(prediction + 1, binder + 1) if index == binder or binder in nx.descendants(graph.graph, index)]
        return Boundary(options.output_var, binder, str(statements[binder].origin)), post
    chain, post = {prediction}, []
    ground_truth = split_siblings(graph, prediction)
    for statement in statements[prediction + 1 :]:
        if statement.kind != "assign" or is_evaluation(statement) or not chain & set(statement.sources.values()):
            continue
        if ground_truth & {(name, source) for name, source in statement.sources.items()}:
            continue
        if any(method in knowledge.REDUCING_METHODS for _, method in variable_methods(graph, statement)):
            continue
        if statement.calls & knowledge.REDUCING_CALLS:
            continue
        if any(knowledge.is_metric(call) for call in statement.calls):
            continue
        chain.add(statement.index)
        post.append(statement.index)
    last = post[-1] if post else prediction
    return Boundary(bound_name(statements[last]), last, str(statements[last].origin)), post


def find_reference(graph: StatementGraph, source: Boundary, train: list[int]) -> Boundary | None:
    """The training-side counterpart of the input (`X_train` for `X_test`), which training profiles for the input
    checks and the drift check: the split's sibling of the input, else the raw data a training fit is given."""
    statements = graph.statements
    sibling = split_sibling(statements[source.statement], source.name)
    if sibling is not None and source.statement in train:
        return Boundary(sibling, source.statement, source.origin)
    for index in train:
        for name in fit_data(statements[index]):
            binder = graph.binder(index, name)
            if binder is not None and binder in train and is_data_source(statements[binder]):
                return Boundary(name, binder, str(statements[binder].origin))
    return None


def split_sibling(statement: Statement, name: str) -> str | None:
    """`X_train` for `X_test` in `X_train, X_test, y_train, y_test = train_test_split(...)`: the name before it."""
    if not is_data_source(statement):
        return None
    targets = [target for target in nodes_of(statement.node, cst.AssignTarget) if isinstance(target.target, (cst.Tuple, cst.List))]
    elements = targets[0].target.elements if targets else []
    names = [element.value.value for element in elements if isinstance(element.value, cst.Name)]
    position = names.index(name) if name in names else -1
    return names[position - 1] if position > 0 and position % 2 == 1 else None


def fit_data(statement: Statement) -> list[str]:
    """The names passed first to the fit-like calls of a statement (`X_train` in `clf.fit(X_train, y_train)`)."""
    calls = [call for call in nodes_of(statement.node, cst.Call) if method_name(call) in knowledge.FIT_METHODS]
    firsts = [call.args[0] for call in calls if call.args and call.args[0].keyword is None]
    return [arg.value.value for arg in firsts if isinstance(arg.value, cst.Name)]


def variable_methods(graph: StatementGraph, statement: Statement) -> list[tuple[str, str]]:
    """The (receiver, method) calls on variables: `y.max()`, not the module function `torch.max(y, dim=1)`."""
    return [
        (receiver, method)
        for receiver, method in statement.methods
        if receiver not in statement.sources or graph.statements[statement.sources[receiver]].kind != "import"
    ]


def split_siblings(graph: StatementGraph, prediction: int) -> set[tuple[str, int]]:
    """(name, binder) pairs of everything a data split or loader binds: ground truth must not feed the output."""
    pairs = set()
    for statement in graph.statements[:prediction]:
        if is_data_source(statement):
            pairs |= {(name, statement.index) for name in statement.defines}
    return pairs


def is_data_source(statement: Statement) -> bool:
    loads_or_splits = any(call in knowledge.SPLIT_CALLS or knowledge.is_loader(call) for call in statement.calls)
    return loads_or_splits or splits_by_slicing(statement)


def splits_by_slicing(statement: Statement) -> bool:
    """`X_train, X_test = X[:80], X[80:]` (or `df.iloc[::2], df.iloc[1::2]`): row ranges of one variable bound at once
    are a data split, like train_test_split, not a preprocessing step of the input."""
    node = statement.node
    if statement.kind != "assign" or not isinstance(node.body[0], cst.Assign):
        return False
    value = node.body[0].value
    if not isinstance(value, cst.Tuple) or len(value.elements) < 2:
        return False
    sliced = [element.value for element in value.elements if row_range(element.value)]
    roots = [root.value for root in map(root_name, sliced) if root is not None]
    return len(sliced) == len(value.elements) and len(set(roots)) < len(roots)


def row_range(node: cst.BaseExpression) -> bool:
    """`X[80:]`, `df.iloc[::2]`: one slice subscript."""
    return isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice)


def is_constant(graph: StatementGraph, index: int) -> bool:
    statement = graph.statements[index]
    return statement.kind in ("import", "def", "class") or statement.literal is not NO_LITERAL


def data_reads(graph: StatementGraph, statement: Statement, literals: bool = False) -> list[tuple[str, int]]:
    """(name, binder) of the data a statement reads: not the fitted model it applies, not imports or functions, and
    literals only when asked (a literal list can be the data; a threshold is not), and not what only the body of a
    called function reads (that is the function's state, such as a fitted vocabulary)."""
    models = {receiver for receiver, method in statement.methods if method in (*knowledge.PREDICT_METHODS, *knowledge.TRANSFORM_METHODS)}
    models |= set(statement.sources) & statement.calls  # `model(X)`: a called variable is a model, not data
    models |= {name for name, binder in statement.sources.items() if is_model_object(graph, name, binder)}
    return [
        (name, binder)
        for name, binder in sorted(statement.sources.items())
        if name not in models
        and name not in statement.via_calls
        and not (is_constant(graph, binder) and not (literals and graph.statements[binder].literal is not NO_LITERAL))
    ]


def find_input(graph: StatementGraph, prediction: int, options: Options) -> Boundary:
    statements = graph.statements
    if options.input_var:
        binder = graph.binder(prediction + 1, options.input_var)
        if binder is None:
            raise conversion_error(graph, f"--input {options.input_var}: no statement before the prediction binds it")
        return Boundary(options.input_var, binder, str(statements[binder].origin))
    candidates = walk_to_sources(graph, prediction)
    if not candidates:
        raise conversion_error(
            graph,
            f"no input found for the prediction at {statements[prediction].origin}; "
            "pass --input VAR naming the raw data variable",
        )
    binder, name = max(candidates, key=lambda candidate: candidate[0])
    return Boundary(name, binder, str(statements[binder].origin))


def upstream_data(graph: StatementGraph, statement: Statement) -> list[tuple[str, int]]:
    """The data a statement reads; when it reads no other data, the literal collections it reads (a list of rows or
    texts is data; a scalar such as a threshold never is)."""
    reads = data_reads(graph, statement)
    if reads:
        return reads
    return [
        (name, binder)
        for name, binder in data_reads(graph, statement, literals=True)
        if isinstance(graph.statements[binder].literal, (list, tuple, dict))
    ]


def walk_to_sources(graph: StatementGraph, prediction: int) -> list[tuple[int, str]]:
    """(binder, name) of the data sources reached walking back from the prediction through data positions."""
    candidates, seen = [], set()
    pending = upstream_data(graph, graph.statements[prediction])
    while pending:
        name, binder = pending.pop(0)
        if (name, binder) in seen or is_statistic(graph.statements[binder]) or binds_device(graph.statements[binder]):
            continue
        seen.add((name, binder))
        upstream = upstream_data(graph, graph.statements[binder])
        if is_data_source(graph.statements[binder]) or not upstream:
            candidates.append((binder, name))
        else:
            pending.extend(upstream)
    return candidates


def is_statistic(statement: Statement) -> bool:
    """`mu = X_train.mean(axis=0)`, `mean, std = X.mean(), X.std()`: statistics of the training data are fitted
    state, not the path of the data to the model."""
    node = statement.node
    if statement.kind != "assign" or not isinstance(node.body[0], cst.Assign):
        return False
    value = node.body[0].value
    values = [element.value for element in value.elements] if isinstance(value, cst.Tuple) else [value]
    return all(method_name(item) in knowledge.REDUCING_METHODS for item in values)


def inference_slice(graph: StatementGraph, source: Boundary, prediction: int, post: list[int]) -> list[int]:
    """Statements fed by the input that feed the prediction, then the prediction and its post-processing."""
    tainted: set[int] = set()
    for statement in graph.statements[source.statement + 1 : prediction + 1]:
        if statement.tag == "train" or fits(statement):
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


def fits(statement: Statement) -> bool:
    """A statement that fits something is training, whatever data it reads."""
    return any(method in knowledge.FIT_METHODS for _, method in statement.methods)


def split_stages(statements: list[Statement], inference: list[int], prediction: int, post: list[int]) -> dict[str, list[int]]:
    stages: dict[str, list[int]] = {stage: [] for stage in INFERENCE_STAGES}
    for index in inference:
        tag = statements[index].tag
        if tag in INFERENCE_STAGES and index != prediction:
            stages[tag].append(index)
        elif index == prediction:
            stages["infer"].append(index)
        elif index in post or index > prediction:
            stages["postprocess"].append(index)
        else:
            stages["preprocess"].append(index)
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
        if statement.kind == "import" or binder in self.helpers:
            return
        if binds_device(statement) and not in_helper:
            self.devices[name] = binder
            return
        if statement.kind in ("def", "class"):
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


def binds_device(statement: Statement) -> bool:
    """`device = "cuda:0"`, `device = torch.device("cuda" if torch.cuda.is_available() else "cpu")`: the package
    resolves the device at run time from config instead."""
    node = statement.node
    if statement.kind != "assign" or len(statement.defines) != 1 or not isinstance(node.body[0], cst.Assign):
        return False
    return is_device_expression(node.body[0].value, statement)


def is_device_expression(node: cst.BaseExpression, statement: Statement) -> bool:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return isinstance(value, str) and knowledge.names_device(value)
    if isinstance(node, cst.IfExp):
        return is_device_expression(node.body, statement) and is_device_expression(node.orelse, statement)
    return isinstance(node, cst.Call) and bool(statement.calls & knowledge.DEVICE_CALLS) and all(
        is_device_expression(arg.value, statement) for arg in node.args[:1]
    )


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
    for name, binder in sorted(reads, key=lambda read: (statements[read[1]].kind not in ("def", "class"), read)):
        outside.take(name, binder)
    return outside


def is_replayable(graph: StatementGraph, index: int, seen: frozenset[int] = frozenset()) -> bool:
    """Built only from literals, imports, functions and other replayable statements: safe to copy as code."""
    statement = graph.statements[index]
    if statement.kind in ("import", "def", "class") or statement.literal is not NO_LITERAL:
        return True
    if statement.kind not in ("assign", "expr") or is_data_source(statement) or index in seen:
        return False
    if any(method in knowledge.FIT_METHODS for _, method in statement.methods):
        return False
    return all(is_replayable(graph, binder, seen | {index}) for binder in statement.sources.values())


BATCH_SIZE_NAMES = {"batch_size", "bs", "inference_batch_size", "predict_batch_size", "eval_batch_size"}


def batch_size(graph: StatementGraph) -> ConfigValue | None:
    """The source's own batch size (`BATCH_SIZE = 64`, the last one bound), the default of config's batch_size."""
    for statement in reversed(graph.statements):
        value = statement.literal
        names = {name.lower() for name in statement.defines}
        if isinstance(value, int) and not isinstance(value, bool) and value > 0 and names & BATCH_SIZE_NAMES:
            name = next(iter(sorted(statement.defines)))
            return ConfigValue("batch_size", name, value, statement.index, str(statement.origin))
    return None


def training_slice(graph: StatementGraph, artifacts: list[Artifact], helpers: list[int], inference: list[int]) -> list[int]:
    """Everything the fitted state depends on, and the seeds set before it; never an inference statement."""
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
    return sorted(needed - set(inference))


def fates(result: Plan) -> dict[int, Fate]:
    statements = result.graph.statements
    decided: dict[int, Fate] = {}
    artifact_binders = {artifact.statement: artifact.variable for artifact in result.artifacts}
    for stage, indices in result.stages.items():
        for index in indices:
            decided[index] = Fate(stage, stage_reason(result, stage, index))
    for value in result.config:
        decided[value.statement] = Fate("config", f"value {value.variable} read by the inference path")
    if result.batch_size is not None:
        decided.setdefault(result.batch_size.statement, Fate("config", "the default batch_size of infer()"))
    for name, index in result.devices.items():
        decided[index] = Fate("config", f"the device ({name}): resolved at run time from config (auto: cuda, then mps, then cpu)")
    for index in result.helpers:
        decided[index] = Fate("helper", f"defines {', '.join(sorted(statements[index].defines))}, used by inference")
    used_imports = imports_read(result)
    for index in sorted(used_imports):
        decided[index] = Fate("import", "imported where its names are used")
    for index in result.train:
        if index in decided:
            continue
        variable = artifact_binders.get(index)
        reason = f"produces fitted state {variable}" if variable else train_reason(statements[index], set(artifact_binders.values()))
        decided[index] = Fate("train", reason)
    decided.setdefault(
        result.input.statement, Fate("input", f"binds the raw input {result.input.name}: what predict() receives")
    )
    for statement in statements:
        if statement.index not in decided:
            decided[statement.index] = Fate("dropped", dropped_reason(statement))
    return decided


def stage_reason(result: Plan, stage: str, index: int) -> str:
    if index == result.prediction:
        return "the prediction"
    if stage == "postprocess":
        return f"turns the prediction into the final output {result.output.name}"
    return f"prepares the input {result.input.name} for the model"


def train_reason(statement: Statement, fitted: set[str]) -> str:
    """Why a training statement is kept; a fit names the fitted state it changes (a training loop binds many names)."""
    if fits(statement):
        return f"fits {', '.join(sorted(statement.defines & fitted or statement.defines))}"
    if is_data_source(statement):
        return "loads or splits the training data"
    return "needed to rebuild the fitted state"


def imports_read(result: Plan) -> set[int]:
    statements = result.graph.statements
    kept = set(result.inference) | set(result.train) | set(result.helpers)
    return {binder for index in kept for binder in statements[index].sources.values() if statements[binder].kind == "import"}


def dropped_reason(statement: Statement) -> str:
    if statement.tag == "train":
        return "tagged nbextract:train but not needed for the fitted state"
    if any(knowledge.is_plot(call) for call in statement.calls) or any(
        method in knowledge.PLOT_METHODS for _, method in statement.methods
    ):
        return "plot"
    if any(knowledge.is_metric(call) for call in statement.calls):
        return "evaluation metric"
    if any(call in knowledge.DISPLAY_CALLS for call in statement.calls):
        return "output for the reader"
    if fits(statement):
        return "fits a model the prediction does not use"
    if statement.kind == "expr":
        return "notebook display (EDA)"
    if statement.kind == "import":
        return "import not used by the package or training"
    return "not needed for the prediction (dead code or exploration)"
