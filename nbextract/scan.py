"""`nbextract scan PATH...`: findings over notebooks and scripts (folders searched), for pre-commit hooks and CI."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import NbextractError

SKIPPED_FOLDERS = {".git", ".venv", "venv", "node_modules", "__pycache__", "site-packages", ".ipynb_checkpoints", ".tox"}


@dataclass
class Report:
    findings: dict[str, list] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.errors and not any(self.findings.values())


def sources(paths: list[str]) -> list[Path]:
    """The notebooks and scripts named, and those inside the folders named (hidden and environment folders skipped)."""
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.suffix in (".ipynb", ".py")
                and candidate.is_file()
                and not SKIPPED_FOLDERS & set(candidate.relative_to(path).parts[:-1])
            )
        else:
            found.append(path)
    return found


def scan(paths: list[str]) -> Report:
    from .analyze import analyse
    from .findings import find_all

    report = Report()
    for path in sources(paths):
        try:
            report.findings[str(path)] = find_all(analyse(path)) + stored_secrets(path)
        except NbextractError as error:
            report.errors[str(path)] = str(error)
    return report


def stored_secrets(path: Path) -> list:
    """Secrets in what a notebook stores besides its cells' sources: notebook and cell metadata, cell outputs. No package
    copies them, but they travel with the notebook. Read after analyse(), which has checked that the file is a notebook.
    Plots and ids are random-looking: only shapes, credentials and secret-named values count here."""
    from .graph import Finding
    from .vocabulary import FindingKind
    from .secrets import STORED, scan_literal

    if path.suffix != ".ipynb":
        return []
    notebook = json.loads(path.read_text("utf-8-sig"))
    places = [("notebook metadata", notebook.get("metadata"))]
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        places += [(f"cell {number}, metadata", cell.get("metadata")), (f"cell {number}, outputs", cell.get("outputs"))]
    return [
        Finding(FindingKind.SECRET, place, f"{secret.kind} in the stored {place.rpartition(' ')[2]}; clear it from the notebook")
        for place, value in places
        for name, text in strings(value)
        for secret in scan_literal(text, name, 1, STORED)
    ]


def strings(value: object, name: str | None = None) -> list[tuple[str | None, str]]:
    """The strings inside JSON data, each with the key it is stored under; a list of strings (an output's lines) is one
    text."""
    if isinstance(value, str):
        return [(name, value)]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [(name, "".join(value))]
    if isinstance(value, list):
        return [pair for item in value for pair in strings(item, name)]
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in strings(item, key)]
    return []


def as_text(report: Report) -> str:
    lines = [f"{path}: {finding.origin}: {finding.kind}: {finding.message}" for path, items in report.findings.items() for finding in items]
    lines += [f"{message} (not scanned)" for message in report.errors.values()]
    count = sum(len(items) for items in report.findings.values())
    lines.append(f"{count} finding(s) in {len(report.findings)} file(s); {len(report.errors)} unreadable")
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    data = {
        "files": {path: [asdict(finding) for finding in items] for path, items in report.findings.items()},
        "errors": report.errors,
    }
    return json.dumps(data, indent=2) + "\n"
