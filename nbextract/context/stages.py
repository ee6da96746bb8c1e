"""How pipeline.py calls each stage: its `name=value` arguments, and whether infer runs in batches (through a partial
binding its other arguments)."""

from __future__ import annotations

from .. import render
from ..rewrite import Param, StageCode
from ..vocabulary import ParamSource


def arguments(params: list[Param]) -> list[str]:
    """`name=value` for each parameter, as pipeline.py passes it."""
    return [f"{param.name}={value_of(param)}" for param in params]


def value_of(param: Param) -> str:
    if param.source == ParamSource.DEVICE:
        return "self.device"
    if param.source == ParamSource.ARTIFACT:
        return f"self.artifacts[{render.python_literal(param.key)}]"
    if param.source == ParamSource.CONFIG:
        return f"self.settings.{param.key}"
    return param.name


def batched(stage: StageCode) -> dict | None:
    """infer runs in batches when it takes one data argument and returns one value; a partial binds the others."""
    data = [param for param in stage.params if param.source in (ParamSource.INPUT, ParamSource.STAGE)]
    if len(data) != 1 or len(stage.returns) != 1:
        return None
    bound = arguments([param for param in stage.params if param not in data])
    partial = [stage.function, *bound] if bound else []
    function = f"partial({', '.join(partial)})" if bound else stage.function
    return {"function": function, "data": data[0].name, "partial": partial}
