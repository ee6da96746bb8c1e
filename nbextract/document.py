"""The in-memory model every stage reads: a source split into cells, and a statement's origin."""

from __future__ import annotations

from dataclasses import dataclass, field

STAGES = ("skip", "config", "init", "preprocess", "infer", "postprocess", "train")


@dataclass(frozen=True)
class Origin:
    """Where a statement came from: a 1-based cell number (None for a plain script) and 1-based lines."""

    cell: int | None
    first_line: int
    last_line: int

    def __str__(self) -> str:
        lines = f"line {self.first_line}" if self.first_line == self.last_line else f"lines {self.first_line}-{self.last_line}"
        return lines if self.cell is None else f"cell {self.cell}, {lines}"


@dataclass
class Cell:
    """One cell. Plain scripts are cells too: `line_offset` maps their lines back to the file."""

    number: int
    source: str
    kind: str = "code"
    tags: tuple[str, ...] = ()
    cell_id: str | None = None
    line_offset: int = 0

    @property
    def stage_tag(self) -> str | None:
        """The `nbextract:<stage>` tag of this cell, if any."""
        for tag in self.tags:
            prefix, _, stage = tag.partition(":")
            if prefix == "nbextract" and stage in STAGES:
                return stage
        return None


@dataclass
class Document:
    """A source read into cells. `kind` is ipynb, percent, sphinx or script."""

    path: str
    kind: str
    sha256: str
    cells: list[Cell] = field(default_factory=list)

    @property
    def code_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind == "code"]

    def origin(self, cell: Cell, first_line: int, last_line: int) -> Origin:
        """The origin of lines of a cell, as a user finds them in the source."""
        if self.kind == "script":
            return Origin(None, first_line + cell.line_offset, last_line + cell.line_offset)
        return Origin(cell.number, first_line, last_line)
