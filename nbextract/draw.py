"""Draw the statement graph as Mermaid, Graphviz dot or JSON, with short labels that carry the origin.

Mermaid draws a graph of up to DRAWN_STATEMENTS statements whole; a bigger one, shrunk past reading (or past
Mermaid's own limits) when drawn whole, is drawn condensed: one node per group of consecutive cells (of statements, for
a plain script), at most DRAWN_GROUPS of them. Dot and JSON always hold every statement.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass

import networkx as nx

from .graph import StatementGraph
from .vocabulary import CONSTANT_KINDS, INFERENCE_STAGES, Stage

DRAWN_STATEMENTS = 80
DRAWN_GROUPS = 30
DRAWN_EDGES = 100  # beyond this, a condensed graph keeps only the edges no path of others implies
SHOWN_NAMES = 3  # names written on an edge of a condensed graph, the rest counted
CAPTION_MARK = "%% "  # a condensed graph's first line: a Mermaid comment saying what it shows


def draw(graph: StatementGraph, fmt: str, stages: dict[int, Stage] | None = None) -> str:
    return DRAWERS[fmt](graph, stages or {})


def node_text(graph: StatementGraph, index: int) -> str:
    statement = graph.statements[index]
    return f"{statement.origin}: {statement.label}"


def mermaid(graph: StatementGraph, stages: dict[int, Stage]) -> str:
    if len(graph.statements) > DRAWN_STATEMENTS:
        return condensed_mermaid(graph, stages)
    lines = ["flowchart TD"]
    for statement in graph.statements:
        text = node_text(graph, statement.index).replace('"', "#quot;")
        stage = f":::{stages[statement.index]}" if statement.index in stages else ""
        lines.append(f'    s{statement.index}["{text}"]{stage}')
    for source, target, data in graph.graph.edges(data=True):
        lines.append(f"    s{source} -->|{', '.join(data['names'])}| s{target}")
    lines += class_definitions(set(stages.values()))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Group:
    """Consecutive statements drawn as one node: where they are, and how many of them go to each stage."""

    number: int
    where: str
    size: int
    stages: Counter

    @property
    def text(self) -> str:
        fates = " · ".join(f"{stage} {count}" for stage, count in self.stages.most_common())
        plural = "statement" if self.size == 1 else "statements"
        return f"{self.where}: {self.size} {plural}<br/>{fates}" if fates else f"{self.where}: {self.size} {plural}"

    @property
    def colour_stage(self) -> Stage | None:
        """The inference stage it holds (what a reader looks for first), else its most common stage."""
        held = [stage for stage in INFERENCE_STAGES if stage in self.stages]
        return held[0] if held else next(iter(self.stages.most_common(1)), (None,))[0]


def condensed_mermaid(graph: StatementGraph, stages: dict[int, Stage]) -> str:
    members = statement_groups(graph)
    group_of = {index: number for number, indices in enumerate(members) for index in indices}
    groups = [group(graph, number, indices, stages) for number, indices in enumerate(members)]
    lines = [f"{CAPTION_MARK}{caption(len(graph.statements), groups)}", "flowchart TD"]
    for drawn in groups:
        stage = f":::{drawn.colour_stage}" if drawn.colour_stage else ""
        lines.append(f'    g{drawn.number}["{drawn.text}"]{stage}')
    for (source, target), names in group_edges(graph, group_of).items():
        lines.append(f"    g{source} -->|{edge_text(names)}| g{target}")
    lines += class_definitions({drawn.colour_stage for drawn in groups})
    return "\n".join(lines) + "\n"


def caption(statements: int, groups: list[Group]) -> str:
    """What a condensed graph shows, as its first line says it (a Mermaid comment the report prints above it)."""
    return (
        f"{statements} statements drawn as {len(groups)} groups of consecutive cells (or lines), each with its "
        "statements' fates; arrows carry values, not the imports, functions and classes nearly every group reads"
    )


def statement_groups(graph: StatementGraph) -> list[list[int]]:
    """The statements' indices cut into at most DRAWN_GROUPS runs of whole cells (of statements, for a script)."""
    units: list[list[int]] = []
    for statement in graph.statements:
        cell = statement.origin.cell
        if units and cell is not None and graph.statements[units[-1][0]].origin.cell == cell:
            units[-1].append(statement.index)
        else:
            units.append([statement.index])
    per_group = math.ceil(len(units) / DRAWN_GROUPS)
    return [sum(units[start : start + per_group], []) for start in range(0, len(units), per_group)]


def group(graph: StatementGraph, number: int, indices: list[int], stages: dict[int, Stage]) -> Group:
    first, last = graph.statements[indices[0]].origin, graph.statements[indices[-1]].origin
    if first.cell is None:
        where = f"lines {first.first_line}-{last.last_line}"
    else:
        where = f"cell {first.cell}" if first.cell == last.cell else f"cells {first.cell}-{last.cell}"
    return Group(number, where, len(indices), Counter(stages[index] for index in indices if index in stages))


def group_edges(graph: StatementGraph, group_of: dict[int, int]) -> dict[tuple[int, int], set[str]]:
    """The values each group reads from another (not the imports, functions and classes nearly every group reads);
    past DRAWN_EDGES, only the edges no longer path implies."""
    edges: dict[tuple[int, int], set[str]] = {}
    for source, target, data in graph.graph.edges(data=True):
        if group_of[source] != group_of[target] and graph.statements[source].kind not in CONSTANT_KINDS:
            edges.setdefault((group_of[source], group_of[target]), set()).update(data["names"])
    if len(edges) > DRAWN_EDGES and nx.is_directed_acyclic_graph(condensed := nx.DiGraph(list(edges))):
        kept = set(nx.transitive_reduction(condensed).edges)
        edges = {edge: names for edge, names in edges.items() if edge in kept}
    return dict(sorted(edges.items()))


def edge_text(names: set[str]) -> str:
    shown = sorted(names)[:SHOWN_NAMES]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" +{more}" if more else "")


def class_definitions(used: set) -> list[str]:
    return [f"    classDef {stage} fill:{colour}" for stage, colour in STAGE_COLOURS.items() if stage in used]


def dot(graph: StatementGraph, stages: dict[int, Stage]) -> str:
    lines = ["digraph statements {", "    node [shape=box, fontname=monospace];"]
    for statement in graph.statements:
        stage = stages.get(statement.index)
        colour = STAGE_COLOURS.get(stage, "#ffffff") if stage is not None else "#ffffff"
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
