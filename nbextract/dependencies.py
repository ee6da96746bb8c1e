"""Third-party imports mapped to installed distributions, pinned to the versions installed when converting."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata

import libcst as cst
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ALIASES = {"sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml", "skimage": "scikit-image"}
NOT_FOR_INFERENCE = {"matplotlib", "seaborn", "IPython", "ipywidgets", "plotly", "tqdm"}


def top_level_modules(import_lines: list[str]) -> list[str]:
    modules = []
    for line in import_lines:
        statement = cst.parse_statement(line).body[0]
        if isinstance(statement, cst.ImportFrom):
            if statement.relative or statement.module is None:
                continue
            names = [cst.Module(body=[]).code_for_node(statement.module)]
        else:
            names = [cst.Module(body=[]).code_for_node(alias.name) for alias in statement.names]
        modules += [name.split(".")[0] for name in names]
    return modules


@lru_cache(maxsize=1)
def distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


@dataclass(frozen=True)
class Declared:
    """Requirements stated outside the imports: the source's `!pip install` lines (canonical name -> requirement as
    written) and `[tool.nbextract.dependencies]` of the nearest pyproject.toml (import name -> requirement)."""

    installs: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, install_words: list[str], overrides: dict[str, str]) -> "Declared":
        installs = {}
        for word in install_words:
            try:
                installs[canonicalize_name(Requirement(word).name)] = word
            except InvalidRequirement:
                continue
        return cls(installs, dict(overrides))


def pinned(import_lines: list[str], extra: tuple[str, ...] = (), declared: Declared = Declared()) -> list[str]:
    """A requirement for each third-party module imported (stdlib and plotting left out), sorted: the override of
    [tool.nbextract.dependencies], else the source's `!pip install` specifier, else the installed version."""
    requirements = set()
    for module in [*top_level_modules(import_lines), *extra]:
        if module in sys.stdlib_module_names or module in NOT_FOR_INFERENCE:
            continue
        if module in declared.overrides:
            requirements.add(declared.overrides[module])
            continue
        name = (distributions().get(module) or [ALIASES.get(module, module)])[0]
        requirements.add(declared_or_installed(name, declared))
    return sorted(requirements, key=str.lower)


def declared_or_installed(name: str, declared: Declared) -> str:
    written = declared.installs.get(canonicalize_name(name))
    if written is not None and Requirement(written).specifier:
        return written
    try:
        return f"{name}=={Version(metadata.version(name)).public}"
    except metadata.PackageNotFoundError:
        return written or name
