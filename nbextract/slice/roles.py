"""Roles of statements, the predicates the decisions are made of: what predicts, evaluates, fits, loads or splits
data, makes or applies a model, draws random numbers, binds a device, or may be copied as code."""

from __future__ import annotations

from typing import cast

import libcst as cst
import networkx as nx

from .. import knowledge
from ..graph import NO_LITERAL, Statement, StatementGraph, method_name, nodes_of, root_name
from ..vocabulary import CONSTANT_KINDS, VALUE_KINDS, Kind


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


def fits(statement: Statement) -> bool:
    """A statement that fits something is training, whatever data it reads."""
    return any(method in knowledge.FIT_METHODS for _, method in statement.methods)


def is_data_source(statement: Statement) -> bool:
    return splits(statement) or any(knowledge.is_loader(call) for call in statement.calls)


def splits(statement: Statement) -> bool:
    """`train_test_split(X, y)` and the like, or row ranges of one variable bound at once."""
    return bool(statement.calls & knowledge.SPLIT_CALLS) or splits_by_slicing(statement)


def assign_of(statement: Statement) -> cst.Assign | None:
    """The `a = b` of an assignment statement; None for any other statement (`a: int = b` and `a += b` too)."""
    if statement.kind != Kind.ASSIGN:
        return None
    small = cast(cst.SimpleStatementLine, statement.node).body[0]
    return small if isinstance(small, cst.Assign) else None


def splits_by_slicing(statement: Statement) -> bool:
    """`X_train, X_test = X[:80], X[80:]` (or `df.iloc[::2], df.iloc[1::2]`): row ranges of one variable bound at once
    are a data split, like train_test_split, not a preprocessing step of the input."""
    assign = assign_of(statement)
    if assign is None:
        return False
    value = assign.value
    if not isinstance(value, cst.Tuple) or len(value.elements) < 2:
        return False
    sliced = [element.value for element in value.elements if row_range(element.value)]
    roots = [root.value for root in map(root_name, sliced) if root is not None]
    return len(sliced) == len(value.elements) and len(set(roots)) < len(roots)


def selects_rows(statement: Statement) -> bool:
    """`new = X.sample(25)`, `X.head(10)`, `X[100:]`, `df.iloc[:5]`: rows taken from one variable are new rows, the
    input a model fitted on that variable predicts on, not a preprocessing step of it."""
    assign = assign_of(statement)
    if assign is None or len(assign.targets) != 1:
        return False
    value = assign.value
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        return value.func.attr.value in knowledge.ROW_SELECTION_METHODS and isinstance(value.func.value, cst.Name)
    return (row_range(value) or rows_by_index(value)) and root_name(value) is not None


def row_range(node: cst.BaseExpression) -> bool:
    """`X[80:]`, `df.iloc[::2]`: one slice subscript."""
    return isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice)


def rows_by_index(node: cst.BaseExpression) -> bool:
    """`X[indices[-test_size:]]`: rows chosen by a range of an index array (a split made by hand from a
    permutation), where `X[cols]` alone may as well choose columns."""
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return False
    index = node.slice[0].slice.value
    return row_range(index) and isinstance(cast(cst.Subscript, index).value, cst.Name)


def is_statistic(statement: Statement) -> bool:
    """`mu = X_train.mean(axis=0)`, `mean, std = X.mean(), X.std()`: statistics of the training data are fitted
    state, not the path of the data to the model."""
    assign = assign_of(statement)
    if assign is None:
        return False
    value = assign.value
    values = [element.value for element in value.elements] if isinstance(value, cst.Tuple) else [value]
    return all(method_name(item) in knowledge.REDUCING_METHODS for item in values)


def binds_device(statement: Statement) -> bool:
    """`device = "cuda:0"`, `device = torch.device("cuda" if torch.cuda.is_available() else "cpu")`: the package
    resolves the device at run time from config instead."""
    assign = assign_of(statement)
    if assign is None or len(statement.defines) != 1:
        return False
    return is_device_expression(assign.value, statement)


def is_device_expression(node: cst.BaseExpression, statement: Statement) -> bool:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return isinstance(value, str) and knowledge.names_device(value)
    if isinstance(node, cst.IfExp):
        return is_device_expression(node.body, statement) and is_device_expression(node.orelse, statement)
    return isinstance(node, cst.Call) and bool(statement.calls & knowledge.DEVICE_CALLS) and all(
        is_device_expression(arg.value, statement) for arg in node.args[:1]
    )


def is_constant(graph: StatementGraph, index: int) -> bool:
    statement = graph.statements[index]
    return statement.kind in CONSTANT_KINDS or statement.literal is not NO_LITERAL


def is_replayable(graph: StatementGraph, index: int, seen: frozenset[int] = frozenset()) -> bool:
    """Built only from literals, imports, functions and other replayable statements: safe to copy as code."""
    statement = graph.statements[index]
    if statement.kind in CONSTANT_KINDS or statement.literal is not NO_LITERAL:
        return True
    if statement.kind not in VALUE_KINDS or is_data_source(statement) or index in seen:
        return False
    if any(method in knowledge.FIT_METHODS for _, method in statement.methods):
        return False
    return all(is_replayable(graph, binder, seen | {index}) for binder in statement.sources.values())


def variable_methods(graph: StatementGraph, statement: Statement) -> list[tuple[str, str]]:
    """The (receiver, method) calls on variables: `y.max()`, not the module function `torch.max(y, dim=1)`."""
    return [
        (receiver, method)
        for receiver, method in statement.methods
        if receiver not in statement.sources or graph.statements[statement.sources[receiver]].kind != Kind.IMPORT
    ]


def construction(graph: StatementGraph, name: str, index: int) -> int | None:
    """The statement that made the object `name` holds at `index`, following the statements that changed it in
    place (`model.eval()`, a training loop) back to the call that made it (`model = MLP(4).to(device)`). Every
    statement on the way has the same answer, kept in the graph's memo: a notebook that changes `df` in place hundreds
    of times would otherwise walk that chain again from each of them."""
    memo = graph.constructions
    chain: list[int] = []
    made: int | None = None
    current: int | None = index
    while current is not None and current not in chain:
        if (name, current) in memo:
            made = memo[name, current]
            break
        chain.append(current)
        statement = graph.statements[current]
        if name in statement.made_by:
            made = current
            break
        current = statement.sources.get(name)
    memo.update(((name, link), made) for link in chain)
    return made


def module_class(graph: StatementGraph, index: int, name: str) -> str | None:
    """`name` when the statement at `index` reads it as a class of the source derived from torch's nn.Module."""
    binder = graph.statements[index].sources.get(name)
    seen: set[int] = set()
    pending = [binder] if binder is not None else []
    while pending:
        current = pending.pop()
        statement = graph.statements[current]
        if current in seen or statement.kind != Kind.CLASS:
            continue
        seen.add(current)
        if statement.bases & knowledge.MODULE_BASES:
            return name
        pending.extend(source for base, source in statement.sources.items() if base in statement.bases)
    return None


def is_model_object(graph: StatementGraph, name: str, binder: int) -> bool:
    """Whether `name` holds a model object there: a torch module, a torch-loaded model or a Hugging Face one."""
    made = construction(graph, name, binder)
    if made is None:
        return False
    maker = graph.statements[made].made_by[name]
    return bool(module_class(graph, made, maker) or knowledge.is_pretrained(maker) or maker.startswith(knowledge.TORCH_MODEL_MAKERS))


def learned_by_hand(statement: Statement, name: str) -> bool:
    """`Theta = Theta - eta * gradients` or `w += lr * error * x` in a loop: `name` is a parameter the source learns
    by hand, fitted state like a model's, never the data (a counter, `correct += 1`, is not a step)."""
    if not isinstance(statement.node, (cst.For, cst.While)):
        return False
    return any(is_step(node, name) for node in nodes_of(statement.node.body, cst.Assign, cst.AugAssign))


def is_step(node: cst.CSTNode, name: str) -> bool:
    """`name = name - rate * gradient` (or `+`), `name -= rate * gradient`: a step scaled by a product."""
    if isinstance(node, cst.AugAssign):
        moved = isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)) and is_name(node.target, name)
        return moved and has_product(node.value)
    if not isinstance(node, cst.Assign) or len(node.targets) != 1 or not is_name(node.targets[0].target, name):
        return False
    value = node.value
    if not isinstance(value, cst.BinaryOperation) or not isinstance(value.operator, (cst.Add, cst.Subtract)):
        return False
    return is_name(value.left, name) and has_product(value.right)


def is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def has_product(node: cst.BaseExpression) -> bool:
    products = nodes_of(node, cst.BinaryOperation)
    return any(isinstance(product.operator, (cst.Multiply, cst.MatrixMultiply)) for product in products)


def calls_model(graph: StatementGraph, statement: Statement) -> bool:
    """Whether the statement applies a model object: calls it (`model(X)`), or hands it to a function of the source
    (`predict(model, X)`)."""
    calls_source_function = any(
        name in statement.calls and graph.statements[binder].kind == Kind.DEF for name, binder in statement.sources.items()
    )
    return any(
        (name in statement.calls or calls_source_function) and is_model_object(graph, name, binder)
        for name, binder in statement.sources.items()
    )


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


def made_with_torch(graph: StatementGraph, index: int) -> bool:
    """Whether torch computes the value (a tensor, a torch.nn container, a loaded torch object)."""
    chain = nx.ancestors(graph.graph, index) | {index}
    return any(call.startswith(knowledge.TORCH_PREFIX) for member in chain for call in graph.statements[member].calls)
