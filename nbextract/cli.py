"""The command line: a thin shell over the library. Errors become one line and an exit status, never a traceback."""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import NoReturn

import click

from .errors import NbextractError, UsageError
from .process_wide import collector


def reported(command):
    """Turn NbextractError into `nbextract: <file>, cell N, line M: message` and its exit status; an OSError naming a
    file (disk full, a read-only file system, a name too long) is the user's environment: one line too, exit 2."""

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
        except OSError as error:
            if error.filename is None:
                internal_error(error, kwargs)
            click.echo(f"nbextract: {error.filename}: {error.strerror or error}", err=True)
            sys.exit(2)
        except Exception as error:
            internal_error(error, kwargs)

    return wrapper


def internal_error(error: Exception, arguments: dict) -> None:
    """A bug of ours: one line for the user, its secrets redacted, the traceback on request; exits 1."""
    from .secrets import redact

    if os.environ.get("NBEXTRACT_DEBUG"):
        raise error
    source = arguments.get("source") or " ".join(arguments.get("sources", ()))
    click.echo(
        redact(
            f"nbextract: {source}: internal error ({type(error).__name__}: {error}); nothing was written. "
            "Rerun with NBEXTRACT_DEBUG=1 for the traceback and report it."
        ),
        err=True,
    )
    sys.exit(1)


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
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "-o",
    "--output-dir",
    "out",
    type=click.Path(file_okay=False, path_type=str),
    help="Where to write the project (default ./NAME); with a folder or several sources, the folder each NAME goes in.",
)
@click.option("--name", help="Package name (default: SOURCE's stem as an identifier).")
@click.option("--input", "input_var", metavar="VAR", help="The raw input variable of the prediction.")
@click.option("--output", "output_var", metavar="VAR", help="The final output variable.")
@click.option("--execute", is_flag=True, help="Run the source once: keep its fitted state, record golden examples and an input spec, benchmark.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--skops", is_flag=True, help="Save scikit-learn fitted state with skops.io (loading runs no code) where its types allow, joblib otherwise.")
@click.option("--template-dir", type=click.Path(file_okay=False, exists=True, path_type=str), help="Templates that replace the built-in ones.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True, help="Worker processes for several sources (0: one per core).")
@reported
def convert(sources, out, name, input_var, output_var, execute, force, skops, template_dir, jobs) -> None:
    """Convert notebooks or scripts into inference packages with a training script.

    SOURCE is a notebook, a script or a folder; a folder brings its notebooks and percent-format scripts (not its plain
    .py files), skipping hidden folders and environments. With several sources, each package is named from its
    source's stem, the batch goes on after a failure, and a table of outcomes ends it: exit 0 if all converted, 2 if
    none did and every failure was unreadable input or bad usage, else 1. Progress goes to stderr: a bar on a
    terminal, one line per finished source otherwise.
    """
    from pathlib import Path

    from .options import Options

    options = Options(
        source=Path(sources[0]),
        output=Path(out) if out else None,
        name=name,
        input_var=input_var,
        output_var=output_var,
        execute=execute,
        force=force,
        skops=skops,
        template_dir=Path(template_dir) if template_dir else None,
    )
    if len(sources) == 1 and not os.path.isdir(options.source):  # False for a name too long, as for a file
        convert_one(options, sources[0])
    else:
        sys.exit(convert_many(sources, options, jobs))


def convert_one(options, source: str) -> None:
    """One source: the summary line on stdout; a progress bar on a terminal while --execute runs it."""
    from dataclasses import replace

    from .batch import describe, templates_for
    from .convert import convert as run_conversion

    options = replace(options, template_dir=options.template_dir or templates_for(options.source))
    if last_work():
        collector.off_until_exit()
    with progress_bar("running") as progress:
        result = run_conversion(options, progress=progress if options.execute else None)
    click.echo(f"{source} -> {result.output}: {describe(result.manifest)}; report: {result.output / 'CONVERSION.md'}")


def convert_many(sources: tuple[str, ...], template, jobs: int) -> int:
    """Several sources: progress on stderr, then a table of outcomes on stdout; returns the exit status."""
    from .batch import convert_all, exit_status, plan, sources_in

    found, empty = sources_in(sources)
    if not found:  # nothing to convert at all: bad usage, one line as for a single SOURCE
        raise UsageError(empty[0].reason, path=str(empty[0].source))
    options = plan(found, template, template.output)
    with progress_bar("converting") as progress:
        finished = []

        def done(outcome) -> None:
            finished.append(outcome)
            if progress is not None:
                progress(len(finished), len(options), str(outcome.source))
            else:
                result = "converted" if outcome.converted else "failed"
                click.echo(f"nbextract: [{len(finished)}/{len(options)}] {outcome.source}: {result}", err=True)

        try:
            outcomes = convert_all(options, jobs, done)
        except KeyboardInterrupt:
            click.echo(
                f"nbextract: interrupted after {len(finished)} of {len(options)} sources; "
                "the packages already written are complete, nothing is half-written",
                err=True,
            )
            return 130
    outcomes = [*empty, *outcomes]
    click.echo(outcome_table(outcomes), nl=False)
    return exit_status(outcomes)


def outcome_table(outcomes) -> str:
    """SOURCE / RESULT columns, one row per source, and a count line."""
    rows = [("SOURCE", "RESULT")] + [
        (str(o.source), f"converted -> {o.output} ({o.summary})" if o.converted else f"failed: {o.reason}")
        for o in outcomes
    ]
    width = max(len(source) for source, _ in rows)
    converted = sum(o.converted for o in outcomes)
    lines = [f"{source.ljust(width)}  {result}" for source, result in rows]
    return "\n".join([*lines, f"{converted} converted, {len(outcomes) - converted} failed"]) + "\n"


@contextmanager
def progress_bar(label: str):
    """A progress(done, total, item) callback drawing a bar on stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    bars: list = []  # the progress bar, made at the first call, when the total is known

    def progress(done: int, total: int, item: str) -> None:
        if not bars:
            bars.append(click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True, item_show_func=lambda i: i))
        bars[0].update(done - bars[0].pos, item)

    try:
        yield progress
    finally:
        if bars:
            bars[0].render_finish()


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


@dataclass(frozen=True)
class Invocation:
    """How main() was called: with `last_work`, the process ends when the command does (the console script)."""

    last_work: bool = False


def last_work() -> bool:
    invocation = click.get_current_context().obj
    return isinstance(invocation, Invocation) and invocation.last_work


def main(argv: list[str] | None = None, last_work: bool = False) -> int:
    try:
        cli.main(args=argv, prog_name="nbextract", standalone_mode=False, obj=Invocation(last_work))
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


def interrupted(signum, frame):
    raise KeyboardInterrupt


def run() -> None:
    """Console-script entry point; SIGTERM cleans up like Ctrl-C (no half-written output is left)."""
    signal.signal(signal.SIGTERM, interrupted)
    leave(main(last_work=True))


def leave(status: int) -> NoReturn:
    """End the process once stdout and stderr are flushed, freeing nothing (mypy's console script does the same): the
    work is done, its temporary folders removed and its child processes collected, and what is left in memory goes
    with the process. A flush that fails (a closed pipe, a full disk) exits 120, as Python's own exit does."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        status = 120
    os._exit(status)


if __name__ == "__main__":
    run()
