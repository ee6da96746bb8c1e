"""Third-party imports mapped to installed distributions, pinned to the versions installed when converting."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
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


@dataclass(frozen=True)
class Installed:
    """A distribution with its top_level.txt names and the text of its RECORD (read once: the cheap files)."""

    distribution: metadata.Distribution
    declared: tuple[str, ...]
    record: str


@lru_cache(maxsize=1)
def installed() -> list[Installed]:
    return [
        Installed(dist, tuple((dist.read_text("top_level.txt") or "").split()), dist.read_text("RECORD") or "")
        for dist in metadata.distributions()
    ]


@lru_cache(maxsize=None)
def distribution_of(module: str) -> str | None:
    """The first name `metadata.packages_distributions()` maps `module` to, found by its own rule (top_level.txt,
    else the names inferred from the files) without reading every distribution's metadata and file list."""
    infer = getattr(metadata, "_top_level_inferred", None)
    if infer is None and sys.version_info >= (3, 11):
        return next(iter(metadata.packages_distributions().get(module, [])), None)
    provider = next((entry for entry in installed() if provides(entry, module, infer)), None)
    return None if provider is None else provider.distribution.metadata["Name"]


def provides(entry: Installed, module: str, infer: Callable | None) -> bool:
    """packages_distributions()'s rule, inferring names from the files (none before Python 3.11) only when RECORD is
    absent or may list `module` without showing a `module/....py` file, which every version infers as `module`."""
    if entry.declared or infer is None:
        return module in entry.declared
    if entry.record and not may_list(entry.record, module):
        return False
    return lists_package(entry.record, module) or module in set(infer(entry.distribution))


def may_list(record: str, module: str) -> bool:
    """Whether RECORD may hold a path inferred as top-level `module`: one whose first part is `module`
    (`module/...`, `./module/...`), or a file `module.<suffix>` or `module` (a CSV field may be quoted)."""
    return module in record and re.search(rf'(?m)^"?(?:\./)*{re.escape(module)}(?:[/.,"\r]|$)', record) is not None


def lists_package(record: str, module: str) -> bool:
    return module in record and re.search(rf"(?m)^{re.escape(module)}/[^,\"\n]*\.py,", record) is not None


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
        name = distribution_of(module) or ALIASES.get(module, module)
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
