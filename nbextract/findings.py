"""What a production engineer must know about a source: one small check per kind, in a table.

Each check reads the statement graph and returns findings (kind, place, message); secrets and star imports are
found while the graph is built. `nbextract scan` prints them; conversion reports them in CONVERSION.md.
"""

from __future__ import annotations

from .graph import Finding, StatementGraph
from .knowledge import is_hub_download
from .vocabulary import Action, FindingKind


def absolute_paths(graph: StatementGraph) -> list[Finding]:
    return [
        Finding(FindingKind.HARD_CODED_PATH, str(statement.origin), f"absolute path {path!r} works on one machine only")
        for statement in graph.statements
        for path in sorted(statement.paths)
        if path.startswith(("/", "~")) or (len(path) > 2 and path[1] == ":" and path[2] in "\\/")
    ]


def pinned_devices(graph: StatementGraph) -> list[Finding]:
    found = []
    for statement in graph.statements:
        for device in sorted(statement.devices):
            found.append(Finding(FindingKind.PINNED_DEVICE, str(statement.origin), f"device {device!r} is hard-coded; resolve it at run time"))
        if any(method == "cuda" for _, method in statement.methods):
            found.append(Finding(FindingKind.PINNED_DEVICE, str(statement.origin), "`.cuda()` assumes a GPU; use a device from config"))
    return found


def hub_downloads(graph: StatementGraph) -> list[Finding]:
    found = []
    for statement in graph.statements:
        calls = sorted(statement.calls) + [f"{receiver}.{method}" for receiver, method in statement.methods]
        for call in sorted({call for call in calls if is_hub_download(call)}):
            message = f"{call} downloads at run time; training fetches it once into artifacts/"
            found.append(Finding(FindingKind.HUB_DOWNLOAD, str(statement.origin), message))
    return found


def unpinned_installs(graph: StatementGraph) -> list[Finding]:
    found = []
    for decision in graph.magics:
        if decision.action != Action.DEPENDENCY:
            continue
        for requirement in decision.detail.split():
            if not any(operator in requirement for operator in ("==", ">=", "<=", "~=", "@")):
                place = f"cell {decision.cell}, line {decision.line}"
                found.append(Finding(FindingKind.UNPINNED_INSTALL, place, f"{decision.magic} install {requirement} has no version"))
    return found


def environment_secrets(graph: StatementGraph) -> list[Finding]:
    """`%env KEY=<secret>`: the line is not converted; the package reads KEY from the environment."""
    return [
        Finding(FindingKind.SECRET, f"cell {decision.cell}, line {decision.line}", f"secret set by %env; read it from ${decision.detail}")
        for decision in graph.magics
        if decision.action == Action.SECRET
    ]


CHECKS = (environment_secrets, absolute_paths, pinned_devices, hub_downloads, unpinned_installs)


def find_all(graph: StatementGraph) -> list[Finding]:
    """Every finding: those recorded while building the graph, then each check's."""
    return [*graph.findings, *(finding for check in CHECKS for finding in check(graph))]
