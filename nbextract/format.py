"""Stage 7: format generated Python with isort and black through their library APIs."""

from __future__ import annotations


def format_python(text: str, first_party: tuple[str, ...] = ()) -> str:
    import black
    import isort

    config = isort.Config(profile="black", known_first_party=frozenset(first_party))
    return black.format_str(isort.code(text, config=config), mode=black.Mode())


def format_files(files: dict[str, str], package: str) -> dict[str, str]:
    """Every .py file formatted as the generated project's own `isort --profile black` and `black` would."""
    return {path: format_python(text, (package,)) if path.endswith(".py") else text for path, text in files.items()}
