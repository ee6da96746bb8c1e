"""What the package requires beyond its import lines: the `!pip install` lines, the libraries of the artifacts'
formats and of the input's type, the [serve] extra, and which requirements are torch's own."""

from __future__ import annotations

import networkx as nx
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..slice import Plan
from ..vocabulary import Format


FORMAT_MODULES = {Format.STATE_DICT: "safetensors", Format.SKOPS: "skops"}


def installs(plan: Plan) -> list[str]:
    """The requirements the source's `!pip install` lines name."""
    return [word for decision in plan.graph.magics if decision.action == "dependency" for word in decision.detail.split()]


def format_modules(plan: Plan) -> tuple[str, ...]:
    """Libraries the artifacts' formats are written and read with, beside the fitted state's own (safetensors for a
    state_dict's weights, skops for skops files)."""
    formats = {artifact.format for artifact in plan.artifacts}
    return tuple(module for format_, module in FORMAT_MODULES.items() if format_ in formats)


def fitted_state_imports(plan: Plan) -> list[str]:
    """Import statements read where the fitted state is bound: loading the artifacts needs their libraries."""
    statements = plan.graph.statements
    variables = {artifact.variable for artifact in plan.artifacts}
    return sorted(
        {
            statements[binder].code
            for index in plan.train
            if statements[index].defines & variables
            for binder in statements[index].sources.values()
            if statements[binder].kind == "import"
        }
    )


def input_imports(plan: Plan) -> list[str]:
    """Import statements read by the statements the input is made with: the library of its type (a DataFrame input
    needs pandas) is one of them, which --execute reads from the recorded type instead."""
    statements = plan.graph.statements
    return sorted({statements[index].code for index in input_makers(plan) if statements[index].kind == "import"})


def input_makers(plan: Plan) -> set[int]:
    """The statement binding the input and those it depends on."""
    return nx.ancestors(plan.graph.graph, plan.input.statement) | {plan.input.statement}


SERVE_REQUIREMENTS = ("fastapi>=0.110", "uvicorn>=0.29", "prometheus-client>=0.20", "numpy")
TORCH_DISTRIBUTIONS = ("torch", "torchvision", "torchaudio")


def torch_distributions(requirements: list[str]) -> list[str]:
    """The requirements of torch's own distributions, whose wheels come from their CPU index unless asked otherwise."""
    return [requirement for requirement in requirements if canonicalize_name(Requirement(requirement).name) in TORCH_DISTRIBUTIONS]


def unpinned_serve_requirements(pinned: list[str]) -> list[str]:
    """The requirements of the [serve] extra whose distribution `pinned` (name==version lines) does not pin."""
    names = {requirement.split("==")[0].lower() for requirement in pinned}
    return [requirement for requirement in SERVE_REQUIREMENTS if requirement.split(">=")[0].lower() not in names]
