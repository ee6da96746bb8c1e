"""Boundaries of the inference path around the prediction (chosen in `ranking`): the final output
(the prediction followed through its post-processing), the raw input (walking back through data positions to a split, a
loader or --input) and its training-side counterpart."""

from __future__ import annotations

import libcst as cst
import networkx as nx

from .. import knowledge
from ..errors import ConversionError, UsageError
from ..graph import (
    NO_LITERAL,
    Statement,
    StatementGraph,
    method_name,
    nodes_of,
    root_name,
)
from ..graph.effects import loop_elements
from ..options import Options
from ..vocabulary import Kind
from .plan import PREDICTION_NAME, Boundary
from .roles import (
    assign_of,
    binds_device,
    is_constant,
    is_data_source,
    is_evaluation,
    is_model_object,
    learned_by_hand,
    is_statistic,
    selects_rows,
    splits,
    variable_methods,
)


def conversion_error(graph: StatementGraph, message: str) -> ConversionError:
    return ConversionError(message, path=graph.document.path)


NOT_VARIABLES = {Kind.IMPORT: "an import", Kind.DEF: "a function (def)", Kind.CLASS: "a class"}


def refuse_non_variable(graph: StatementGraph, binder: int, option: str, name: str) -> None:
    """`--input NAME` / `--output NAME` must name a variable, not what an import, a def or a class binds (exit 2)."""
    statement = graph.statements[binder]
    if statement.kind in NOT_VARIABLES:
        raise UsageError(
            f"{option} {name}: {name} is {NOT_VARIABLES[statement.kind]} at {statement.origin}, not a variable",
            path=graph.document.path,
        )


def bound_name(statement: Statement) -> str:
    """The variable an assignment binds (its plain target, or the first it unpacks into: `labels, counts = mode(...)`),
    the collection a loop fills, or PREDICTION_NAME for a bare expression."""
    node = statement.node
    if isinstance(node, cst.With):
        names = [target.target for assign in nodes_of(node.body, cst.Assign) for target in assign.targets]
        plain = [name.value for name in names if isinstance(name, cst.Name)]
        return plain[-1] if plain else PREDICTION_NAME
    if isinstance(node, cst.For):
        changed = [target.target for assign in nodes_of(node.body, cst.Assign) for target in assign.targets]
        items = [root_name(target) for target in changed if isinstance(target, cst.Subscript)]
        appended = [call.func.value for call in nodes_of(node.body, cst.Call) if method_name(call) in ("append", "extend")]
        names = [name.value for name in (*items, *appended) if isinstance(name, cst.Name)]
        return names[-1] if names else PREDICTION_NAME
    small = node.body[0] if isinstance(node, cst.SimpleStatementLine) else None
    if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
        return small.targets[0].target.value
    if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Tuple):
        first = small.targets[0].target.elements[0].value
        return first.value if isinstance(first, cst.Name) else PREDICTION_NAME
    if isinstance(small, (cst.AnnAssign, cst.AugAssign)) and isinstance(small.target, cst.Name):
        return small.target.value
    return PREDICTION_NAME


def find_output(graph: StatementGraph, prediction: int, wanted: Boundary | None) -> tuple[Boundary, list[int]]:
    """The final output: the one wanted (`ranking.wanted_output`) with the statements between the prediction and it
    that lead to it, else the prediction followed through element-wise post-processing."""
    statements = graph.statements
    if wanted is not None:
        post = [
            index
            for index in range(prediction + 1, wanted.statement + 1)
            if index == wanted.statement or wanted.statement in nx.descendants(graph.graph, index)
        ]
        return wanted, post
    post = post_processing(graph, prediction)
    last = post[-1] if post else prediction
    return Boundary(bound_name(statements[last]), last, str(statements[last].origin)), post


def post_processing(graph: StatementGraph, prediction: int) -> list[int]:
    """The statements that derive the source's answer from the prediction element-wise (`labels = proba > 0.5`); not
    evaluation, reductions, metrics, ground truth or a comparison with other data."""
    statements = graph.statements
    chain, post = {prediction}, []
    ground_truth = split_siblings(graph, prediction)
    for statement in statements[prediction + 1 :]:
        if statement.kind != Kind.ASSIGN or is_evaluation(statement) or not chain & set(statement.sources.values()):
            continue
        if ground_truth & {(name, source) for name, source in statement.sources.items()}:
            continue
        if any(method in knowledge.REDUCING_METHODS for _, method in variable_methods(graph, statement)):
            continue
        if statement.calls & knowledge.REDUCING_CALLS:
            continue
        if any(knowledge.is_metric(call) for call in statement.calls):
            continue
        if compares_with_other_data(graph, statement, chain):
            continue
        chain.add(statement.index)
        post.append(statement.index)
    return post


def compares_with_other_data(graph: StatementGraph, statement: Statement, chain: set[int]) -> bool:
    """`(pred.argmax(1) == y_test).float()`: an equality between the prediction and other data is a mask of correct
    answers, an evaluation; comparing with a constant (`proba > 0.5`, `labels == 1`) is post-processing."""
    for comparison in nodes_of(statement.node, cst.Comparison):
        sides = [comparison.left, *(target.comparator for target in comparison.comparisons)]
        if not any(isinstance(target.operator, (cst.Equal, cst.NotEqual)) for target in comparison.comparisons):
            continue
        reads = [side_sources(graph, statement, side) for side in sides]
        if any(sources & chain for sources in reads) and any(sources and not sources & chain for sources in reads):
            return True
    return False


def side_sources(graph: StatementGraph, statement: Statement, side: cst.BaseExpression) -> set[int]:
    """The binders of the data one side of a comparison reads (constants and imports are not data)."""
    names = {name.value for name in nodes_of(side, cst.Name)}
    data = {binder for name, binder in data_reads(graph, statement)}
    return {statement.sources[name] for name in names if name in statement.sources and statement.sources[name] in data}


def split_siblings(graph: StatementGraph, prediction: int) -> set[tuple[str, int]]:
    """(name, binder) pairs of everything a data split or loader binds: ground truth must not feed the output."""
    pairs = set()
    for statement in graph.statements[:prediction]:
        if is_data_source(statement):
            pairs |= {(name, statement.index) for name in statement.defines}
    return pairs


def find_input(graph: StatementGraph, prediction: int, options: Options) -> Boundary:
    statements = graph.statements
    if options.input_var:
        binder = graph.binder(prediction + 1, options.input_var)
        if binder is None:
            raise conversion_error(graph, f"--input {options.input_var}: no statement before the prediction binds it")
        refuse_non_variable(graph, binder, "--input", options.input_var)
        return Boundary(options.input_var, binder, str(statements[binder].origin))
    candidates = walk_to_sources(graph, prediction)
    if not candidates:
        raise conversion_error(
            graph,
            f"no input found for the prediction at {statements[prediction].origin}; "
            "pass --input VAR naming the raw data variable",
        )
    binder, name = min(candidates, key=lambda candidate: (-candidate[0], side_rank(statements[candidate[0]], candidate[1])))
    binder = as_left(graph, prediction, binder, name)
    return Boundary(name, binder, str(statements[binder].origin))


def as_left(graph: StatementGraph, prediction: int, binder: int, name: str) -> int:
    """The statement that last changes the variable in place between its binding and the prediction
    (`X_test[:, 1:] = (X_test[:, 1:] - mean) / std`), else `binder`: an input is the variable as the source leaves it
    for the prediction, which is what `--input NAME` takes too; rebinding the name (`X = scaler.transform(X)`) makes
    a new value and stops the search."""
    latest = binder
    for statement in graph.statements[binder + 1 : prediction]:
        if name not in statement.defines:
            continue
        if not changes_in_place(statement, name):
            break
        latest = statement.index
    return latest if latest == binder or latest in nx.ancestors(graph.graph, prediction) else binder


def changes_in_place(statement: Statement, name: str) -> bool:
    """`X[:, 1:] = ...`, `df["age"] = ...`: an assignment to items of the variable, not to the name."""
    assign = assign_of(statement)
    targets = [target.target for target in assign.targets] if assign else []
    return bool(targets) and all(
        isinstance(target, (cst.Subscript, cst.Attribute)) and getattr(root_name(target), "value", None) == name
        for target in targets
    )


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
        if is_data_source(graph.statements[binder]) or selects_rows(graph.statements[binder]) or not upstream:
            candidates.append((binder, name))
        else:
            pending.extend(upstream)
    return candidates


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


def data_reads(graph: StatementGraph, statement: Statement, literals: bool = False) -> list[tuple[str, int]]:
    """(name, binder) of the data a statement reads: not the fitted model it applies, not imports or functions, and
    literals only when asked (a literal list can be the data; a threshold is not), and not what only the body of a
    called function reads (that is the function's state, such as a fitted vocabulary)."""
    models = {receiver for receiver, method in statement.methods if method in (*knowledge.PREDICT_METHODS, *knowledge.TRANSFORM_METHODS)}
    models |= set(statement.sources) & statement.calls  # `model(X)`: a called variable is a model, not data
    models |= {name for name, binder in statement.sources.items() if is_model_object(graph, name, binder)}
    models |= {name for name, binder in statement.sources.items() if learned_by_hand(graph.statements[binder], name)}
    models |= applied_fitted_objects(graph, statement)
    models |= model_collections(statement, models)
    state = models | read_for_statistics_only(statement) | random_generators(graph, statement)
    return [
        (name, binder)
        for name, binder in sorted(statement.sources.items())
        if name not in state
        and name not in statement.via_calls
        and not (is_constant(graph, binder) and not (literals and graph.statements[binder].literal is not NO_LITERAL))
    ]


def applied_fitted_objects(graph: StatementGraph, statement: Statement) -> set[str]:
    """`net` in `net.forward(x)` after `net.train(X_train, y_train)`: an object a fit-like method fitted, whose own
    method the statement calls, is a model applied, not data (its attributes, `kmeans.labels_`, may be data)."""
    receivers = {receiver for receiver, _ in statement.methods} & set(statement.sources)
    return {
        name
        for name in receivers
        if any(
            receiver == name and method in knowledge.FIT_METHODS
            for receiver, method in graph.statements[statement.sources[name]].methods
        )
    }


def model_collections(statement: Statement, models: set[str]) -> set[str]:
    """`forest` in `for i, tree in enumerate(forest): Y[i] = tree.predict(X)`: what a loop takes its models from."""
    if not isinstance(statement.node, cst.For):
        return set()
    pairs = loop_elements(statement.node.target, statement.node.iter)
    return {collection.value for variable, collection in pairs if variable.value in models}


def read_for_statistics_only(statement: Statement) -> set[str]:
    """Names read only as the receiver of a reduction (`X.min()` in `np.linspace(X.min(), X.max(), 500)`): the data
    gives a statistic there, not rows."""
    calls = nodes_of(statement.node, cst.Call)
    receivers = [
        call.func.value
        for call in calls
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in knowledge.REDUCING_METHODS and isinstance(call.func.value, cst.Name)
    ]
    reduced = {id(receiver) for receiver in receivers}
    elsewhere = {name.value for name in nodes_of(statement.node, cst.Name) if id(name) not in reduced}
    return {receiver.value for receiver in receivers} - elsewhere


def random_generators(graph: StatementGraph, statement: Statement) -> set[str]:
    """`rng` of `rng = np.random.RandomState(42)`: a stream of random numbers is state, never the data (what is drawn
    from it, `X = rng.uniform(...)`, is)."""
    return {
        name
        for name, binder in statement.sources.items()
        if graph.statements[binder].made_by.get(name) in knowledge.OWN_STREAM_CALLS
        and graph.statements[binder].calls <= knowledge.OWN_STREAM_CALLS  # not `np.random.RandomState(1).randn(10, 4)`
    }


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


def split_names(statement: Statement) -> list[str]:
    """The names a data split or loader unpacks into, in order (`X_train, X_test, y_train, y_test`), else none."""
    if not is_data_source(statement):
        return []
    targets = [target for target in nodes_of(statement.node, cst.AssignTarget) if isinstance(target.target, (cst.Tuple, cst.List))]
    elements = targets[0].target.elements if targets else []
    return [element.value.value for element in elements if isinstance(element.value, cst.Name)]


def side_rank(statement: Statement, name: str) -> tuple[int, int]:
    """How good an input `name` is among what one split or loader binds, lowest best: of a split, the sides of the
    first array given (the features, not the labels beside them), its test side before its training side; of a loader
    (`X, y = load_iris(return_X_y=True)`), the first name."""
    names = split_names(statement)
    if name not in names:
        return 0, 0
    position = names.index(name)
    if splits(statement) and len(names) % 2 == 0:
        return position // 2, 1 - position % 2
    return position, 0


def split_sibling(statement: Statement, name: str) -> str | None:
    """`X_train` for `X_test` in `X_train, X_test, y_train, y_test = train_test_split(...)`: the name before it."""
    names = split_names(statement)
    position = names.index(name) if name in names else -1
    return names[position - 1] if position > 0 and position % 2 == 1 else None


def fit_data(statement: Statement) -> list[str]:
    """The names passed first to the fit-like calls of a statement (`X_train` in `clf.fit(X_train, y_train)`)."""
    calls = [call for call in nodes_of(statement.node, cst.Call) if method_name(call) in knowledge.FIT_METHODS]
    firsts = [call.args[0] for call in calls if call.args and call.args[0].keyword is None]
    return [arg.value.value for arg in firsts if isinstance(arg.value, cst.Name)]
