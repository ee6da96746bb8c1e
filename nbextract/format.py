"""Stage 7: format generated Python with isort and black through their library APIs."""

from __future__ import annotations


def format_python(text: str) -> str:
    import black
    import isort

    sorted_text = isort.code(text, profile="black")
    return black.format_str(sorted_text, mode=black.Mode())


def format_files(files: dict[str, str]) -> dict[str, str]:
    return {path: format_python(text) if path.endswith(".py") else text for path, text in files.items()}
