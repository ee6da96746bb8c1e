"""Stage 7: format generated Python with isort and black through their library APIs.

black is the costliest step after the statement graph (about 0.55 ms a line a pass on a 2-core machine), and a large
notebook's training script holds thousands of lines. black makes a second pass over whatever its first pass changed:
over a whole file, that is every line as soon as one changed. So a long file is cut, between statements of its
`main()`, into pieces of about PIECE_LINES lines that black formats independently, and only the pieces that were not
in its style get the second pass (a 4,600-line training script of research code in black's style: 4.6 s of black
whole, 2.5 s in pieces). When the process may fork, the pieces are shared out by size with one forked child. Pieces
are cut only where black's output does not depend on the cut (see `seams`), and a file with a piece black cannot
parse is formatted whole instead, so the result is the same text as formatting each file whole.
"""

from __future__ import annotations

import pickle
import re
import sys
from collections.abc import Callable
from typing import cast

from . import fork

FORK_LINES = 400
"""Below this many lines of Python in all, forking costs more than it saves (a sample's project has about 1,300)."""
PIECE_LINES = 200
"""A file is cut into pieces of at least this many lines (a piece a call of black, each with its own second pass)."""
PROVENANCE = re.compile(r"    # (cell \d+, )?lines? \d+")
"""The comment the rewrite stage puts on top of every statement of a generated function body."""
STRING_START = re.compile(r"[rRbBuUfF]{0,2}['\"]")


def format_python(text: str, first_party: tuple[str, ...] = ()) -> str:
    return format_black(sorted_imports(text, first_party))


def sorted_imports(text: str, first_party: tuple[str, ...]) -> str:
    import isort

    return isort.code(text, config=isort.Config(profile="black", known_first_party=frozenset(first_party)))


def format_black(text: str) -> str:
    import black

    return black.format_str(text, mode=black_mode())


def black_mode():
    """black as the generated project runs it: its pyproject.toml says `requires-python = ">=3.N"` (the converting
    Python), from which black infers its target versions; the same targets here, rather than black guessing them
    from each file's syntax, so that every file, and every part of one, is formatted for the same Pythons."""
    import black

    minor = sys.version_info.minor
    return black.Mode(target_versions={version for version in black.TargetVersion if version.value >= minor})


def format_files(files: dict[str, str], package: str, settled: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every .py file formatted as the generated project's own `isort --profile black` and `black` would; a file whose
    text is one of `settled` (texts known to be in that style: the runtime modules a package copies whole) as it is."""
    python = {
        path: sorted_imports(text, (package,)) for path, text in files.items() if path.endswith(".py") and text not in settled
    }
    split = {path: pieces_of(text) for path, text in python.items()}
    pieces = {(path, number): piece for path, parts in split.items() for number, piece in enumerate(parts)}
    formatted = (map_pieces if may_fork(pieces) else map_here)(format_black, pieces)
    joined = {path: join_pieces([formatted[path, number] for number in range(len(parts))]) for path, parts in split.items()}
    done = {path: format_black(python[path]) if text is None else text for path, text in joined.items()}
    return {path: done.get(path, text) for path, text in files.items()}


def pieces_of(text: str) -> list[str]:
    """The file whole, or, when it is long, cut at seams into pieces of at least PIECE_LINES lines: the lines before
    the first seam, then, from each seam on, the header of the function it is in followed by the lines up to the next."""
    lines = text.splitlines(keepends=True)
    if len(lines) < 2 * PIECE_LINES or "fmt:" in text:  # `# fmt: off` ... `# fmt: on` may span a seam
        return [text]
    cuts: list[tuple[int, str]] = []
    for number, header in seams(lines):
        if number - (cuts[-1][0] if cuts else 0) >= PIECE_LINES and len(lines) - number >= PIECE_LINES:
            cuts.append((number, header))
    starts = [(0, ""), *cuts]
    ends = [number for number, _ in cuts] + [len(lines)]
    return [header + "".join(lines[start:end]) for (start, header), end in zip(starts, ends)]


def seams(lines: list[str]) -> list[tuple[int, str]]:
    """(line, header of the enclosing top-level function) where a generated function body can be cut: a provenance
    comment on top of a statement that is not a def, class or decorator, right after a statement at the same depth
    that is not one either. black puts no blank line there and carries nothing across it, so formatting the two
    sides apart gives what formatting the whole gives."""
    found, header = [], None
    for number, line in enumerate(lines):
        if line.strip() and not line[:1].isspace():
            header = line if line.startswith("def ") and line.rstrip().endswith(":") else None
        elif header and PROVENANCE.match(line) and 0 < number < len(lines) - 1:
            before, after = lines[number - 1], lines[number + 1]
            if plain_statement_line(before) and plain_statement_line(after) and not before.rstrip().endswith((":", "\\")):
                found.append((number, header))
    return found


def plain_statement_line(line: str) -> bool:
    """A line at depth 1 that neither starts a def or class nor is a decorator, a comment, a string (which black would
    take for a docstring at the top of a piece) or blank."""
    stripped = line[4:]
    return (
        line.startswith("    ")
        and not stripped[:1].isspace()
        and not stripped.startswith(("def ", "async def ", "class ", "@", "#", "\n"))
        and STRING_START.match(stripped) is None
    )


def join_pieces(pieces: list[str | None]) -> str | None:
    """The formatted file from its formatted pieces (each after the first without its repeated header); None when black
    could not format a piece, or a header came back changed."""
    if any(piece is None for piece in pieces):
        return None
    first, *rest = cast(list[str], pieces)
    parts = [first]
    for piece in rest:
        header, _, body = piece.partition("\n")
        if not (header.startswith("def ") and header.endswith(":")):
            return None
        parts.append(body)
    return "".join(parts)


def may_fork(pieces: dict) -> bool:
    """Worth it (a large project) and safe (fork.may_fork)."""
    return sum(piece.count("\n") for piece in pieces.values()) >= FORK_LINES and fork.may_fork()


def map_pieces(function: Callable[[str], str], pieces: dict) -> dict:
    """function(piece) for every piece, about half of the lines done by a forked child; None for a piece the function
    raised on."""
    keys = sorted(pieces, key=lambda key: -pieces[key].count("\n"))
    mine: list[str] = []
    theirs: list[str] = []
    sizes = [0, 0]
    for key in keys:
        side = 0 if sizes[0] <= sizes[1] else 1
        (mine, theirs)[side].append(key)
        sizes[side] += pieces[key].count("\n")
    with fork.forked(lambda: map_here(function, {key: pieces[key] for key in theirs}), pickle.dumps) as child:
        results = map_here(function, {key: pieces[key] for key in mine})
        received = child.result(pickle.loads)
    results.update(received if received is not None else map_here(function, {key: pieces[key] for key in theirs}))
    return results


def map_here(function: Callable[[str], str], pieces: dict) -> dict:
    """function(piece) for every piece, in this process; None for a piece the function raised on."""
    return {key: attempt(function, piece) for key, piece in pieces.items()}


def attempt(function: Callable[[str], str], piece: str) -> str | None:
    try:
        return function(piece)
    except Exception:  # black cannot parse a piece: the caller formats that file whole, which raises if it must
        return None
