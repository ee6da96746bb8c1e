"""One error hierarchy. Every error carries where it happened and which exit status it means."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class NbextractError(Exception):
    """Base error: a one-line message naming the file, and the cell and line where they apply."""

    message: str
    path: str | None = None
    cell: int | None = None
    line: int | None = None
    exit_code: int = 2

    def __str__(self) -> str:
        """The message, redacted: an error may quote a source line, a cell or a traceback holding a secret."""
        from .secrets import redact  # secrets imports libcst: only when an error is shown

        where = [self.path] if self.path else []
        if self.cell is not None:
            where.append(f"cell {self.cell}")
        if self.line is not None:
            where.append(f"line {self.line}")
        return redact(f"{', '.join(where)}: {self.message}" if where else self.message)


@dataclass
class ReadError(NbextractError):
    """The source could not be read or parsed (exit 2)."""


@dataclass
class UsageError(NbextractError):
    """Bad options or an output folder that must not be touched (exit 2)."""


@dataclass
class ConversionError(NbextractError):
    """The source was read but cannot be converted; the message says what to do (exit 1)."""

    exit_code: int = 1


@dataclass
class TemplateError(NbextractError):
    """A template failed to render: syntax error or undefined variable (exit 2)."""
