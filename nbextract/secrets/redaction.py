"""Secrets taken out of text that is shown or written: each known one, and any run of 8 of its characters,
replaced by a marker, and then every token shape found.
"""

from __future__ import annotations

from collections.abc import Iterable

from .detectors import SHAPES, Secret


PIECE = 8
"""Any run of this many characters of a known secret is redacted too: the leak check refuses the last 8."""


def redact(text: str, known: Iterable[str | Secret] = ()) -> str:
    """The text with every known secret, and every run of 8 or more of its characters, replaced by a marker (its
    variable's for a Secret), then every secret the name-less detectors find (token shapes, webhooks, URL passwords,
    `password=` fields, URL query credentials, Basic and Bearer credentials) replaced by a marker naming its kind."""
    for item in sorted(known, key=lambda item: -len(value_of(item))):
        marker = f"<secret: {item.env}>" if isinstance(item, Secret) else "<secret>"
        text = without_pieces(text.replace(value_of(item), marker), value_of(item), marker)
    shapes: dict[str, str] = {}
    for detector in SHAPES:
        for kind, value, _ in detector(text, None):
            shapes.setdefault(value, kind)
    for value in sorted(shapes, key=len, reverse=True):
        text = text.replace(value, f"<secret: {shapes[value]}>")
    return text


def value_of(item: str | Secret) -> str:
    return item.value if isinstance(item, Secret) else item


def without_pieces(text: str, value: str, marker: str) -> str:
    """The text with every run covered by 8-character pieces of `value` replaced by the marker."""
    pieces = {value[start : start + PIECE] for start in range(len(value) - PIECE + 1)}
    spans: list[list[int]] = []
    for start in range(len(text) - PIECE + 1) if pieces else ():
        if text[start : start + PIECE] in pieces:
            if spans and start <= spans[-1][1]:
                spans[-1][1] = start + PIECE
            else:
                spans.append([start, start + PIECE])
    for start, end in reversed(spans):
        text = text[:start] + marker + text[end:]
    return text
