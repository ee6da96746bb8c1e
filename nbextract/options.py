"""One frozen options object, built by the CLI (or the Jupyter handler) and read by every stage."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib


@dataclass(frozen=True)
class Options:
    source: Path
    output: Path | None = None
    name: str | None = None
    input_var: str | None = None
    output_var: str | None = None
    execute: bool = False
    force: bool = False
    template_dir: Path | None = None

    @property
    def package(self) -> str:
        """NAME: given, or SOURCE's stem made a valid Python identifier."""
        if self.name is not None:
            if not self.name.isidentifier() or keyword.iskeyword(self.name):
                raise UsageError(f"--name {self.name!r} is not a valid Python package name")
            return self.name
        return identifier(Path(self.source).stem)

    @property
    def out_dir(self) -> Path:
        return Path(self.output) if self.output is not None else Path.cwd() / self.package


def identifier(text: str) -> str:
    """`My Notebook-v2` -> `my_notebook_v2`; never empty, never a keyword, never starting with a digit."""
    name = re.sub(r"\W+", "_", text).strip("_").lower() or "package"
    if name[0].isdigit():
        name = f"nb_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def tool_settings(start: Path) -> tuple[Path | None, dict]:
    """The nearest pyproject.toml above `start` and its `[tool.nbextract]` table (empty when none or unreadable)."""
    for folder in [start.resolve(), *start.resolve().parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                return None, {}
            return folder, data.get("tool", {}).get("nbextract", {})
    return None, {}


def dependency_overrides(start: Path) -> dict[str, str]:
    """`[tool.nbextract.dependencies]`: import name -> requirement, e.g. cv2 = "opencv-python-headless==4.10.0.84"."""
    return {str(k): str(v) for k, v in tool_settings(start)[1].get("dependencies", {}).items()}
