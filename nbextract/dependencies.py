"""Third-party imports mapped to installed distributions, pinned to the versions installed when converting."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING

import libcst as cst
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .graph.nodes import import_statement, nodes_of

if TYPE_CHECKING:
    from .graph.statements import Statement

ALIASES = {"sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml", "skimage": "scikit-image"}
NOT_FOR_INFERENCE = {"matplotlib", "seaborn", "IPython", "ipywidgets", "plotly", "tqdm"}
COMPANIONS = {"torch": ("numpy",)}
"""Modules code using a library needs beside it, though the library's wheel does not require them: torch hands
arrays to and from numpy (`tensor.numpy()`, `torch.from_numpy`) and fails without it."""


IMPLYING_ARGUMENTS = {"pandas": ("as_frame", "True")}
"""Modules a call needs though the code does not import them: `load_wine(as_frame=True)` returns pandas frames, and
fails without pandas."""


def implied_modules(statements: Sequence[Statement]) -> tuple[str, ...]:
    """The modules of IMPLYING_ARGUMENTS (keyword and the name it is given) that some call of `statements` needs;
    only statements whose code holds one of the keywords are walked."""
    keywords = {keyword for keyword, _ in IMPLYING_ARGUMENTS.values()}
    nodes = [statement.node for statement in statements if any(keyword in statement.code for keyword in keywords)]
    given = {
        (argument.keyword.value, argument.value.value)
        for argument in nodes_of(list(nodes), cst.Arg)
        if argument.keyword is not None and isinstance(argument.value, cst.Name)
    }
    return tuple(module for module, argument in IMPLYING_ARGUMENTS.items() if argument in given)


def top_level_modules(import_lines: list[str]) -> list[str]:
    modules = []
    for line in import_lines:
        statement = import_statement(cst.parse_statement(line))
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
        installs: dict[str, str] = {}
        for word in install_words:
            try:
                installs[canonicalize_name(Requirement(word).name)] = word
            except InvalidRequirement:
                continue
        return cls(installs, dict(overrides))


def pinned(import_lines: list[str], extra: tuple[str, ...] = (), declared: Declared = Declared()) -> list[str]:
    """A requirement for each third-party module imported (stdlib and plotting left out), sorted: the override of
    [tool.nbextract.dependencies], else the source's `!pip install` specifier, else the installed version; with the
    COMPANIONS of each."""
    requirements = set()
    for module in with_companions([*top_level_modules(import_lines), *extra]):
        if module in sys.stdlib_module_names or module in NOT_FOR_INFERENCE:
            continue
        if module in declared.overrides:
            requirements.add(declared.overrides[module])
            continue
        name = distribution_of(module) or ALIASES.get(module, module)
        requirements.add(declared_or_installed(name, declared))
    return sorted(requirements, key=str.lower)


def with_companions(modules: list[str]) -> list[str]:
    return [*modules, *(companion for module in modules for companion in COMPANIONS.get(module, ()))]


def declared_or_installed(name: str, declared: Declared) -> str:
    written = declared.installs.get(canonicalize_name(name))
    if written is not None and Requirement(written).specifier:
        return written
    try:
        return f"{name}=={Version(metadata.version(name)).public}"
    except metadata.PackageNotFoundError:
        return written or name


def environment(requirements: list[str]) -> list[str]:
    """`name==version` of every installed distribution the requirements need, through their own requirements (markers
    evaluated here, extras not followed), the requirements themselves left out: the environment they were installed
    in, which the generated lock reproduces."""
    direct = {canonicalize_name(Requirement(requirement).name) for requirement in requirements}
    pending: list[str] = list(direct)
    found: dict[str, str] = {}
    while pending:
        name = pending.pop()
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found.setdefault(name, f"{distribution.metadata['Name']}=={Version(distribution.version).public}")
        for needed in required_names(distribution):
            if needed not in found and needed not in pending:
                pending.append(needed)
    return sorted((pin for name, pin in found.items() if name not in direct), key=str.lower)


def required_names(distribution: metadata.Distribution) -> list[str]:
    """The canonical names a distribution requires here (its markers hold, no extra asked for)."""
    names: list[str] = []
    for line in distribution.requires or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(canonicalize_name(requirement.name))
    return names
