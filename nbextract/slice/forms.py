"""Forms: how each piece of fitted state is saved, from the call that made it and from what computes it."""

from __future__ import annotations

from dataclasses import replace

from .. import knowledge
from ..graph import StatementGraph
from ..vocabulary import Format
from .plan import Artifact
from .roles import construction, made_with_torch, module_class


def saved_form(graph: StatementGraph, artifact: Artifact, skops: bool = False) -> Artifact:
    """How an artifact is saved, from the call that made it and from what it is computed with; what would be joblib is
    skops when `skops` (--skops) asks for it."""
    made = construction(graph, artifact.variable, artifact.statement)
    maker = graph.statements[made].made_by[artifact.variable] if made is not None else ""
    module = module_class(graph, made, maker) if made is not None else None
    if module is not None:
        return replace(artifact, format=Format.STATE_DICT, module=module, construction=made)
    if knowledge.is_pretrained(maker):
        return replace(artifact, format=Format.PRETRAINED, module=maker.removesuffix(knowledge.PRETRAINED_SUFFIX), construction=made)
    if made_with_torch(graph, artifact.statement):
        return replace(artifact, format=Format.TORCH)
    return replace(artifact, format=Format.SKOPS) if skops else artifact
