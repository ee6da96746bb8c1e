"""The command line: a thin shell over the library. Errors become one line and an exit status, never a traceback."""

from __future__ import annotations

import os
import signal
import sys
from functools import wraps

import click

from .errors import NbextractError


def reported(command):
    """Turn NbextractError into `nbextract: <file>, cell N, line M: message` and its exit status."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except NbextractError as error:
            click.echo(f"nbextract: {error}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("nbextract: interrupted; nothing was written", err=True)
            sys.exit(130)
        except Exception as error:  # a bug of ours: one line for the user, the traceback on request
            if os.environ.get("NBEXTRACT_DEBUG"):
                raise
            source = kwargs.get("source", "")
            click.echo(
                f"nbextract: {source}: internal error ({type(error).__name__}: {error}); nothing was written. "
                "Rerun with NBEXTRACT_DEBUG=1 for the traceback and report it.",
                err=True,
            )
            sys.exit(1)

    return wrapper


SOURCE = click.argument("source")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nbextract")
def cli() -> None:
    """Turn research notebooks and ML scripts into installable, tested inference packages."""


@cli.command()
@SOURCE
@reported
def analyze(source: str) -> None:
    """Show each statement's origin, the names it defines and reads, and what it depends on."""
    from .analyze import analyse, describe

    click.echo(describe(analyse(source)), nl=False)


@cli.command()
@SOURCE
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "json"]), default="mermaid", show_default=True)
@reported
def graph(source: str, fmt: str) -> None:
    """Write the statement dependency graph."""
    from .analyze import analyse
    from .draw import draw

    click.echo(draw(analyse(source), fmt), nl=False)


@cli.command()
@SOURCE
@click.option("-o", "--output-dir", "out", type=click.Path(file_okay=False, path_type=str), help="Where to write the project (default ./NAME).")
@click.option("--name", help="Package name (default: SOURCE's stem as an identifier).")
@click.option("--input", "input_var", metavar="VAR", help="The raw input variable of the prediction.")
@click.option("--output", "output_var", metavar="VAR", help="The final output variable.")
@click.option("--execute", is_flag=True, help="Run the source once: keep its fitted state, record golden examples and an input spec, benchmark.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--template-dir", type=click.Path(file_okay=False, exists=True, path_type=str), help="Templates that replace the built-in ones.")
@reported
def convert(source, out, name, input_var, output_var, execute, force, template_dir) -> None:
    """Convert a notebook or script into an inference package with a training script."""
    from pathlib import Path

    from .convert import convert as run_conversion
    from .options import Options
    from .scaffold import configured_template_dir

    options = Options(
        source=Path(source),
        output=Path(out) if out else None,
        name=name,
        input_var=input_var,
        output_var=output_var,
        execute=execute,
        force=force,
        template_dir=Path(template_dir) if template_dir else configured_template_dir(Path(source).parent),
    )
    result = run_conversion(options)
    manifest = result.manifest
    click.echo(
        f"{source} -> {result.output}: input {manifest['inputs'][0]['name']}, output {manifest['outputs'][0]['name']}, "
        f"{plural(len(manifest['artifacts']), 'artifact')}, {plural(len(manifest['findings']), 'finding')}; "
        f"report: {result.output / 'CONVERSION.md'}"
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@reported
def scan(paths: tuple[str, ...], fmt: str) -> None:
    """Secrets, hard-coded paths, pinned devices, hub downloads, unpinned installs; exit 1 on findings."""
    from .scan import as_json, as_text, scan as run_scan

    report = run_scan(list(paths))
    click.echo(as_json(report) if fmt == "json" else as_text(report), nl=False)
    sys.exit(0 if report.clean else 1)


@cli.group()
def templates() -> None:
    """The jinja2 templates the generated project comes from."""


@templates.command("export")
@click.argument("directory")
@click.option("--force", is_flag=True, help="Overwrite templates in a non-empty folder.")
@reported
def export_templates(directory: str, force: bool) -> None:
    """Copy the built-in templates (and TEMPLATES.md) into DIRECTORY for customisation."""
    from pathlib import Path

    from .scaffold import export

    target = export(Path(directory), force)
    click.echo(f"templates written to {target}; see {target / 'TEMPLATES.md'}")


@cli.command()
@click.argument("name")
@click.option("-o", "--output-dir", "out", help="Where to write the package (default ./NAME).")
@click.option("--template-dir", type=click.Path(file_okay=False, exists=True, path_type=str), help="Templates that replace the built-in ones.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@reported
def init(name: str, out: str | None, template_dir: str | None, force: bool) -> None:
    """An empty structured package (config, model, stages, pipeline, tests, training) from the same templates."""
    from pathlib import Path

    from .options import Options
    from .scaffold import configured_template_dir, init as make_package

    package = Options(source=Path(name), name=name).package
    templates_from = Path(template_dir) if template_dir else configured_template_dir(Path.cwd())
    target = make_package(package, Path(out) if out else None, templates_from, force)
    click.echo(f"created {target}")


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="nbextract", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("nbextract: aborted", err=True)
        return 130
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx is not None else "nbextract"
        click.echo(f"nbextract: {error.format_message()} (see {command} --help)", err=True)
        return 2
    except click.ClickException as error:
        click.echo(f"nbextract: {error.format_message()}", err=True)
        return 2
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())


def interrupted(signum, frame):
    raise KeyboardInterrupt


def run() -> None:
    """Console-script entry point; SIGTERM cleans up like Ctrl-C (no half-written output is left)."""
    signal.signal(signal.SIGTERM, interrupted)
    sys.exit(main())
