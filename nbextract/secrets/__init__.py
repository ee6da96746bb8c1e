"""Find secrets in string literals: known token shapes, credentials in URLs, secret-like names, and entropy.

Detectors are a table; each sees one literal with the name it is bound to (assignment target, keyword argument, dict
key or `os.environ[...]` key). A Secret never shows its value in str() or repr().

By concern: `detectors` (the table, and text scanned line by line), `finder` (Python source: literals with their
names, and comments), `redaction` (secrets replaced by markers in text that is shown or written).
"""

from .detectors import DETECTORS, SHAPES, STORED, Detector, Secret, detect_text, scan_literal
from .finder import detect, find_in, may_fire, may_hold_secret
from .redaction import redact

__all__ = [
    "DETECTORS",
    "SHAPES",
    "STORED",
    "Detector",
    "Secret",
    "detect",
    "detect_text",
    "find_in",
    "may_fire",
    "may_hold_secret",
    "redact",
    "scan_literal",
]
