"""Draw the statement graph as Mermaid, Graphviz dot or JSON, with short labels that carry the origin."""

from __future__ import annotations

import json

from .graph import StatementGraph
from .vocabulary import Stage


def draw(graph: StatementGraph, fmt: str, stages: dict[int, Stage] | None = None) -> str:
    return DRAWERS[fmt](graph, stages or {})


def node_text(graph: StatementGraph, index: int) -> str:
    statement = graph.statements[index]
    return f"{statement.origin}: {statement.label}"


def mermaid(graph: StatementGraph, stages: dict[int, Stage]) -> str:
    lines = ["flowchart TD"]
    for statement in graph.statements:
        text = node_text(graph, statement.index).replace('"', "#quot;")
        stage = f":::{stages[statement.index]}" if statement.index in stages else ""
        lines.append(f'    s{statement.index}["{text}"]{stage}')
    for source, target, data in graph.graph.edges(data=True):
        lines.append(f"    s{source} -->|{', '.join(data['names'])}| s{target}")
    for stage, colour in STAGE_COLOURS.items():
        if stage in stages.values():
            lines.append(f"    classDef {stage} fill:{colour}")
    return "\n".join(lines) + "\n"


def dot(graph: StatementGraph, stages: dict[int, Stage]) -> str:
    lines = ["digraph statements {", "    node [shape=box, fontname=monospace];"]
    for statement in graph.statements:
        colour = STAGE_COLOURS.get(stages.get(statement.index, ""), "#ffffff")
        text = json.dumps(node_text(graph, statement.index))
        lines.append(f"    s{statement.index} [label={text}, style=filled, fillcolor=\"{colour}\"];")
    for source, target, data in graph.graph.edges(data=True):
        lines.append(f"    s{source} -> s{target} [label={json.dumps(', '.join(data['names']))}];")
    return "\n".join(lines + ["}"]) + "\n"


def as_json(graph: StatementGraph, stages: dict[int, Stage]) -> str:
    data = {
        "source": graph.document.path,
        "nodes": [
            {
                "id": statement.index,
                "origin": str(statement.origin),
                "label": statement.label,
                "defines": sorted(statement.defines),
                "reads": sorted(statement.reads),
                **({"stage": stages[statement.index]} if statement.index in stages else {}),
            }
            for statement in graph.statements
        ],
        "edges": [
            {"from": source, "to": target, "names": data["names"]}
            for source, target, data in graph.graph.edges(data=True)
        ],
    }
    return json.dumps(data, indent=2) + "\n"


STAGE_COLOURS = {
    Stage.TRAIN: "#fde2c8",
    Stage.PREPROCESS: "#d6eaff",
    Stage.INFER: "#c8f0d0",
    Stage.POSTPROCESS: "#efd9ff",
    Stage.CONFIG: "#fff6bf",
    Stage.IMPORT: "#eeeeee",
    Stage.HELPER: "#e0f7f4",
    Stage.DROPPED: "#f4f4f4",
}
"""Stage.INPUT has no colour yet: giving it one adds a classDef to the graph of every CONVERSION.md whose input is
bound outside the stages, so it waits for a change that means to change those reports."""

DRAWERS = {"mermaid": mermaid, "dot": dot, "json": as_json}
