"""Templates as a user-facing feature: export them (with TEMPLATES.md), find a project's template folder, and
`init` an empty structured package from the same templates."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import __version__, context, dependencies, format, render, write
from .errors import UsageError
from .options import tool_settings
from .rewrite import STAGE_DOCS, Param, StageCode, function_code
from .vocabulary import INFERENCE_STAGES, ParamSource, Stage


def templates_doc() -> str:
    """TEMPLATES.md: every template and every variable the templates receive, from context.TemplateContext's fields."""
    lines = [
        "# nbextract templates",
        "",
        "Edit any of these files; `nbextract convert --template-dir DIR` (or `[tool.nbextract] template-dir` in",
        "pyproject.toml) uses the ones found in DIR and the built-in ones for the rest. Undefined variables are errors.",
        "In file names, `__package__` becomes the package name and `.j2` is dropped.",
        "",
        "## Templates",
        "",
        *[f"- `{name}` -> `{render.output_path(name, 'NAME')}`" for name in render.template_names()],
        "",
        "## Variables",
        "",
        "| name | type | meaning |",
        "|---|---|---|",
        *[f"| `{name}` | `{kind}` | {meaning} |" for name, (kind, meaning) in sorted(context.VARIABLES.items())],
        "",
    ]
    return "\n".join(lines)


def export(directory: Path, force: bool = False) -> Path:
    """Copy the built-in templates and TEMPLATES.md into DIR (a non-empty DIR only with force)."""
    directory = Path(directory)
    try:
        if directory.exists() and any(directory.iterdir()) and not force:
            raise UsageError("folder exists and is not empty; pass --force to overwrite its templates", path=str(directory))
        shutil.copytree(render.builtin_dir(), directory, dirs_exist_ok=True)
        (directory / "TEMPLATES.md").write_text(templates_doc(), encoding="utf-8")
    except OSError as error:  # shutil.Error too: copytree gathers the failures of its files
        raise write.unwritable(error, directory) from None
    return directory


def configured_template_dir(start: Path) -> Path | None:
    """`[tool.nbextract] template-dir` of the nearest pyproject.toml above `start`, resolved against that file."""
    folder, settings = tool_settings(start)
    value = settings.get("template-dir")
    return (folder / value).resolve() if value and folder is not None else None



def empty_stage(stage: Stage, param: str) -> StageCode:
    code = function_code(stage, [param], [], [param], STAGE_DOCS[stage])
    source = ParamSource.INPUT if stage == Stage.PREPROCESS else ParamSource.STAGE
    return StageCode(stage, stage, [Param(param, source, param)], [param], code, [], [], [])


INIT_TRAIN = '''def main():
    """Load the training data, fit the model and preprocessors, and save each with save_artifact()."""
    project_settings = load_settings()
'''


def init_context(name: str, out: Path) -> context.TemplateContext:
    """The template context of a package with no source yet: stages pass their input through."""
    stages: dict[str, StageCode] = {stage: empty_stage(stage, "inputs") for stage in INFERENCE_STAGES}
    prefix = f"{name.upper()}_"
    settings = [
        context.Setting("batch_size", context.DEFAULT_BATCH_SIZE, "int", f"{prefix}BATCH_SIZE", "nbextract init", "rows per call of infer()"),
        context.Setting("device", "auto", "str", f"{prefix}DEVICE", "nbextract init", "auto (cuda, then mps, then cpu), cpu, cuda:N or mps"),
        context.Setting("artifacts_dir", "artifacts", "str", f"{prefix}ARTIFACTS_DIR", "nbextract init", "folder of the fitted state", path=True),
    ]
    source = {"path": "", "name": "nbextract init", "kind": "init", "sha256": "0" * 64}
    manifest = {"nbextract_version": __version__, "package": name, "source": source, "inputs": [], "outputs": [],
                "artifacts": [], "config": [], "secrets": [], "statements": [], "findings": []}
    return context.TemplateContext(
        package=name,
        stages=stages,
        source=source,
        settings=settings,
        input={"name": "inputs", "origin": "predict()", "code": "inputs = ...  # what predict() receives"},
        output={"name": "inputs", "origin": "postprocess()", "code": "return inputs"},
        train_main=INIT_TRAIN,
        dependencies=dependencies.pinned([], extra=("joblib",)),
        manifest=manifest,
    )


def init(name: str, out: Path | None = None, template_dir: Path | None = None, force: bool = False) -> Path:
    """An empty structured package from the same templates: importable, with passing tests."""
    out = Path(out) if out is not None else Path.cwd() / name
    write.refuse_holding([out], write.kept_paths(template_dir=template_dir))
    write.check_target(out, force)
    files: dict[str, str | bytes] = {**format.format_files(render.render(init_context(name, out), template_dir), name)}
    return write.write_tree(files, out, force)
