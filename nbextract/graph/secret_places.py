"""Secrets of the source: one environment variable per distinct secret, the line that holds each, and the secrets of
text that is not converted as code (markdown, shell lines, cells that do not parse), which are only reported."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from ..document import Document, Origin
from ..errors import ReadError
from ..magics import MagicDecision
from ..secrets import DETECTORS, STORED, Secret, detect_text
from ..vocabulary import Action, FindingKind
from .statements import Finding, Statement


def distinct_env_names(statements: list[Statement]) -> None:
    """Two different secrets never share one environment variable: a second, different `API_KEY` becomes `API_KEY_2`;
    a value found again keeps the name it was first given."""
    by_value: dict[str, str] = {}
    taken: set[str] = set()
    for statement in statements:
        statement.secrets = [replace(secret, env=unique_env(secret, by_value, taken)) for secret in statement.secrets]


def unique_env(secret: Secret, by_value: dict[str, str], taken: set[str]) -> str:
    if secret.value not in by_value:
        env, number = secret.env, 2
        while env in taken:
            env, number = f"{secret.env}_{number}", number + 1
        by_value[secret.value] = env
        taken.add(env)
    return by_value[secret.value]


def secret_places(statements: list[Statement]) -> list[tuple[Origin, Secret]]:
    """Each secret with the line of the source that holds it."""
    places = []
    for statement in statements:
        leading = len(statement.node.leading_lines)
        for secret in statement.secrets:
            line = statement.origin.first_line + secret.line - 1 - leading
            places.append((Origin(statement.origin.cell, line, line), secret))
    return places


def unconverted_secrets(document: Document, magics: list[MagicDecision], broken: list[ReadError]) -> list[tuple[str, Origin, Secret]]:
    """Secrets in the text of a source that is not converted as code, so never read from the environment: markdown and
    raw cells, shell and magic lines, cell magics and cells that do not parse. Each is named with its place."""
    texts = {cell.number: (f"a {cell.kind} cell", cell.source, STORED) for cell in document.cells if cell.kind != "code"}
    cells = {cell.number: cell for cell in document.cells}
    for error in broken:
        number = cast(int, error.cell)  # the error of a cell that does not parse names the cell
        texts[number] = ("a cell that does not parse", cells[number].source, DETECTORS)
    found = [(what, document.origin(cells[number], 1, 1), text, detectors) for number, (what, text, detectors) in texts.items()]
    for decision in magics:
        if decision.action != Action.SECRET and decision.cell not in texts:  # %env secrets are findings of their own
            lines = cells[decision.cell].source.splitlines()
            whole = decision.magic.startswith("%%")
            text = "\n".join(lines[decision.line - 1 :]) if whole else lines[decision.line - 1]
            what = f"a {decision.magic} {'cell' if whole else 'line'}"
            found.append((what, document.origin(cells[decision.cell], decision.line, decision.line), text, DETECTORS))
    return [
        (what, Origin(origin.cell, origin.first_line + secret.line - 1, origin.first_line + secret.line - 1), secret)
        for what, origin, text, detectors in found
        for secret in detect_text(text, detectors)
    ]


def secret_finding(origin: Origin, secret: Secret) -> Finding:
    """Kind, place and the environment variable that will hold it; never the value."""
    return Finding(FindingKind.SECRET, str(origin), f"{secret.kind}; the package reads it from ${secret.env}")
