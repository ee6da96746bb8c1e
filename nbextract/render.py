"""Stage 6: render the project from jinja2 templates; a template in --template-dir replaces the built-in one."""

from __future__ import annotations

import traceback
from pathlib import Path

import jinja2

from .errors import TemplateError

SUFFIX = ".j2"
RENAMES = {"gitignore": ".gitignore"}
LINE_LENGTH = 88  # black's default, which format.py formats the generated code with


def builtin_dir() -> Path:
    """Templates ship inside the wheel as nbextract/templates; a source checkout has them at the top level."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "templates"


def template_names(directory: Path | None = None) -> list[str]:
    root = directory or builtin_dir()
    return sorted(path.relative_to(root).as_posix() for path in root.rglob(f"*{SUFFIX}"))


def environment(template_dir: Path | None) -> jinja2.Environment:
    loaders = [jinja2.FileSystemLoader(str(template_dir))] if template_dir else []
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([*loaders, jinja2.FileSystemLoader(str(builtin_dir()))]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(py=python_literal, bracketed=bracketed, parenthesized=parenthesized)
    return env


def python_literal(value: object) -> str:
    """`repr(value)` as black writes it: strings in double quotes (unless that needs escapes), lists item by item."""
    if isinstance(value, list):
        return f"[{', '.join(map(python_literal, value))}]"
    text = repr(value)
    if isinstance(value, str) and text.startswith("'") and '"' not in text:
        return f'"{text[1:-1]}"'
    return text


def bracketed(items: list[str], head: str, indent: int, brackets: str = "()", tail: str = "") -> str:
    """`head(a, b)tail` at `indent` when it fits, else one item a line with a trailing comma, which black keeps."""
    opening, closing = brackets
    line = f"{head}{opening}{', '.join(items)}{closing}{tail}"
    if not items or indent + len(line) <= LINE_LENGTH:
        return line
    inner = " " * (indent + 4)
    return "\n".join([f"{head}{opening}", *(f"{inner}{item}," for item in items), f"{' ' * indent}{closing}{tail}"])


def parenthesized(expression: str, head: str, indent: int) -> str:
    """`head expression` at `indent` when it fits, else black's split of it: the expression alone in parentheses."""
    if indent + len(head) + len(expression) <= LINE_LENGTH:
        return head + expression
    return f"{head}(\n{' ' * (indent + 4)}{expression}\n{' ' * indent})"


def output_path(template: str, package: str) -> str:
    path = template[: -len(SUFFIX)].replace("__package__", package)
    parent, _, name = path.rpartition("/")
    name = RENAMES.get(name, name)
    return f"{parent}/{name}" if parent else name


def render(context: dict, template_dir: Path | None = None) -> dict[str, str]:
    """Relative path -> text for every template that renders to something; an empty render writes no file."""
    env = environment(template_dir)
    files = {}
    for name in template_names():
        try:
            text = env.get_template(name).render(**context)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"template syntax error: {error.message}", path=error.filename or name, line=error.lineno) from None
        except jinja2.UndefinedError as error:
            path = template_origin(env, name)
            raise TemplateError(f"undefined template variable: {error.message}", path=path, line=template_line(error, path)) from None
        if text.strip():
            files[output_path(name, context["package"])] = text
    return files


def template_line(error: Exception, path: str) -> int | None:
    """The template line where rendering failed, from jinja's rewritten traceback."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == path]
    return frames[-1].lineno if frames else None


def template_origin(env: jinja2.Environment, name: str) -> str:
    source = env.loader.get_source(env, name)
    return source[1] or name
