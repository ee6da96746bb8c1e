"""Recall and false positives of nbextract's secret detectors, side by side with detect-secrets used as a library.

    python benchmarks/secrets_eval.py        (detect-secrets is optional: `pip install detect-secrets`)

Runs over tests/secrets_corpus.py: planted secrets (each must be found) and look-alikes (none may be flagged).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from secrets_corpus import LOOKALIKES, PLANTED  # noqa: E402

from nbextract.secrets import detect  # noqa: E402


def nbextract_finds(code: str) -> list[str]:
    return [secret.value for secret in detect(code)]


def detect_secrets_finds(code: str) -> list[str]:
    """Values flagged by detect-secrets' default plugins, scanning the snippet as a file."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snippet.py"
        path.write_text(code)
        collection = SecretsCollection()
        with default_settings():
            collection.scan_file(str(path))
        return [secret.secret_value or "" for _, secret in collection]


def measure(finds) -> dict:
    found = sum(any(entry["secret"] in value or value in entry["secret"] for value in finds(entry["code"]) if value) for entry in PLANTED)
    false_positives = [code for code in LOOKALIKES if finds(code)]
    return {"recall": found / len(PLANTED), "found": found, "false_positives": len(false_positives)}


def main() -> int:
    detectors = {"nbextract": nbextract_finds}
    try:
        import detect_secrets  # noqa: F401

        detectors["detect-secrets (default plugins)"] = detect_secrets_finds
    except ImportError:
        print("detect-secrets not installed: only nbextract measured")
    kinds = len({entry["kind"] for entry in PLANTED})
    print(f"corpus: {len(PLANTED)} planted secrets of {kinds} kinds, {len(LOOKALIKES)} look-alikes\n")
    print("| detector | recall | found | false positives |")
    print("|---|---|---|---|")
    for name, finds in detectors.items():
        result = measure(finds)
        print(f"| {name} | {result['recall']:.0%} | {result['found']}/{len(PLANTED)} | {result['false_positives']}/{len(LOOKALIKES)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
