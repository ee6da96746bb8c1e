"""Third-party imports mapped to installed distributions, pinned to the versions installed when converting."""

from __future__ import annotations

import sys
from functools import lru_cache
from importlib import metadata

import libcst as cst

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


def pinned(import_lines: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """`dist==version` for each third-party module imported (stdlib and plotting left out), sorted."""
    requirements = set()
    for module in [*top_level_modules(import_lines), *extra]:
        if module in sys.stdlib_module_names or module in NOT_FOR_INFERENCE:
            continue
        names = distributions().get(module) or [ALIASES.get(module, module)]
        name = names[0]
        try:
            requirements.add(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            requirements.add(name)
    return sorted(requirements, key=str.lower)
