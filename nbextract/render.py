"""Stage 6: render the project from jinja2 templates; a template in --template-dir replaces the built-in one."""

from __future__ import annotations

import ast
import functools
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from . import context as template_context
from .errors import TemplateError

SUFFIX = ".j2"
RENAMES = {"gitignore": ".gitignore"}
LINE_LENGTH = 88  # black's default, which format.py formats the generated code with
RESULT_LIBRARIES = {"scikit-learn": ("numpy",), "xgboost": ("numpy",), "lightgbm": ("numpy",), "transformers": ("numpy",)}
"""Libraries whose values a model of these distributions returns, beyond the distribution's own module."""


def builtin_dir() -> Path:
    """Templates ship inside the wheel as nbextract/templates; a source checkout has them at the top level."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "templates"


def template_names(directory: Path | None = None) -> list[str]:
    root = directory or builtin_dir()
    return sorted(path.relative_to(root).as_posix() for path in root.rglob(f"*{SUFFIX}"))


def environment(template_dir: Path | None) -> jinja2.Environment:
    """A sandbox: templates (a user's, or a team's) reach no Python internals and change nothing they are given."""
    loaders = [FolderLoader(template_dir)] if template_dir else []
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader([*loaders, jinja2.FileSystemLoader(str(builtin_dir()))]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(py=python_literal, bracketed=bracketed, parenthesized=parenthesized)
    env.globals["runtime"] = runtime_copier(frozenset())
    return env


def runtime_copier(libraries: frozenset[str]) -> Callable[..., str]:
    """The `runtime` global of the templates: `{{ runtime("serve.py") }}` prints a runtime module whole,
    `{{ runtime("batching.py", trimmed=True) }}` without the registered functions of libraries not in `libraries`."""

    def runtime(name: str, trimmed: bool = False) -> str:
        """Without the module's last newline, which the template's own line ends with."""
        text = runtime_source(name)
        return (without_other_libraries(text, libraries) if trimmed else text).removesuffix("\n")

    return runtime


def runtime_source(name: str) -> str:
    """The text of a module of nbextract/runtime/ (the generated package's runtime, kept as ordinary Python with its
    own tests), for a template that copies it."""
    modules = runtime_modules()
    if name not in modules:
        raise TemplateError(f"no runtime module {name!r}; there are {', '.join(sorted(modules)) or 'none'}")
    return modules[name]


@functools.cache
def runtime_modules() -> dict[str, str]:
    """File name -> text of each runtime module, read once a process (a batch conversion renders many projects)."""
    folder = Path(__file__).parent / "runtime"
    return {path.name: path.read_text(encoding="utf-8") for path in folder.glob("*.py") if path.name != "__init__.py"}


def runtime_texts() -> frozenset[str]:
    """The runtime modules as a template copies them whole: kept in the generated project's black and isort style
    (tests/test_format.py), so the format stage leaves them as they are."""
    return frozenset(runtime_modules().values())


def package_libraries(context: Mapping[str, Any]) -> frozenset[str]:
    """The modules a generated package can rely on: those of its declared dependencies, and the libraries of the
    values their models return (numpy for scikit-learn)."""
    names = {re.split(r"[\[=<>!~;@ ]", requirement, maxsplit=1)[0].lower() for requirement in context["dependencies"]}
    brought = {library for name in names for library in RESULT_LIBRARIES.get(name, ())}
    return frozenset(names | brought)


def without_other_libraries(source: str, libraries: frozenset[str]) -> str:
    """A runtime module without its registered functions (decorated, at the top level) that import a library outside
    `libraries`: a way of joining torch tensors is not copied into a package without torch. Nothing refers to such a
    function by name, and black's two blank lines before it go with it."""
    lines = source.splitlines(keepends=True)
    for node in reversed(ast.parse(source).body):
        if isinstance(node, ast.FunctionDef) and node.decorator_list and not third_party_imports(node) <= libraries:
            del lines[max(node.decorator_list[0].lineno - 3, 0) : node.end_lineno]
    return "".join(lines)


def third_party_imports(node: ast.AST) -> set[str]:
    """The top-level names of the modules `node` imports, the standard library's left out."""
    names = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in inner.names}
        elif isinstance(inner, ast.ImportFrom) and inner.module and not inner.level:
            names.add(inner.module.partition(".")[0])
    return names - sys.stdlib_module_names


class FolderLoader(jinja2.FileSystemLoader):
    """The templates of one folder, none read through a link that leads out of it: a folder inside the Jupyter
    server's root must not bring in a file from outside the root."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).resolve()
        super().__init__(str(self.folder))

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.folder.joinpath(*split_template_path(template))
        if path.exists() and not path.resolve().is_relative_to(self.folder):
            raise TemplateError(
                "template leads outside its template folder through a link; copy the file into the folder instead",
                path=str(path),
            )
        return super().get_source(environment, template)


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
    opening, closing = brackets[0], brackets[1]
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


def render(context: Mapping[str, Any], template_dir: Path | None = None) -> dict[str, str]:
    """Relative path -> text for every template that renders to something; an empty render writes no file. The
    variables of `context` (a context.TemplateContext, or a mapping of its fields) are the templates' top-level names."""
    variables = template_context.of(context).variables()
    env = environment(template_dir)
    env.globals["runtime"] = runtime_copier(package_libraries(variables))
    files = {}
    for name in template_names():
        try:
            text = env.get_template(name).render(variables)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"template syntax error: {error.message}", path=error.filename or name, line=error.lineno) from None
        except (jinja2.UndefinedError, SecurityError) as error:
            path = template_origin(env, name)
            message = f"{runtime_problem(error)}: {error.message}"
            raise TemplateError(message, path=path, line=template_line(error, path)) from None
        if text.strip():
            files[output_path(name, variables["package"])] = text
    return files


def runtime_problem(error: jinja2.TemplateRuntimeError) -> str:
    return "template refused by the sandbox" if isinstance(error, SecurityError) else "undefined template variable"


def template_line(error: Exception, path: str) -> int | None:
    """The template line where rendering failed, from jinja's rewritten traceback."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == path]
    return frames[-1].lineno if frames else None


def template_origin(env: jinja2.Environment, name: str) -> str:
    """The file a template was read from: the user's or the built-in one."""
    return env.get_template(name).filename or name
