"""Values the source pins that the package takes from its settings at run time: the device, and the batch
size of the inference path."""

from __future__ import annotations

import libcst as cst

from ..graph import Statement, nodes_of
from ..knowledge import is_device
from ..slice import INFERENCE_STAGES, Plan


RUN_TIME_DEVICE = "resolve_device(project_settings.device)"


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
