"""nbextract.secrets.detect against the planted-secrets corpus in secrets_corpus.py.

- every planted secret is found (a Secret whose value equals or contains it; for URLs the password part),
  with a non-empty kind and an upper-case identifier for the environment variable;
- no lookalike produces a finding;
- test_summary measures recall and false positives over the whole corpus and prints them (run with -rP or -s
  to see the numbers quoted in the README); the targets are strict: recall 1.0, no false positives;
- a Secret never shows its value in str() or repr().
"""

from __future__ import annotations

import ast
import re
from collections import Counter

import pytest
from secrets_corpus import LOOKALIKES, PLANTED

from nbextract.secrets import Secret, detect, may_fire, may_hold_secret, scan_literal

ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")


def planted_id(index: int, entry: dict) -> str:
    return f"{entry['kind'].replace(' ', '_')}-{index:02d}"


PLANTED_PARAMS = [pytest.param(entry, id=planted_id(i, entry)) for i, entry in enumerate(PLANTED)]
LOOKALIKE_PARAMS = [pytest.param(code, id=f"lookalike-{i:02d}") for i, code in enumerate(LOOKALIKES)]


def valid_env(env: object) -> bool:
    return isinstance(env, str) and env.isidentifier() and bool(ENV_NAME.match(env))


def holds(found: Secret, secret: str) -> bool:
    return isinstance(found.value, str) and (found.value == secret or secret in found.value)


def well_formed(found: Secret) -> bool:
    return isinstance(found.kind, str) and bool(found.kind.strip()) and valid_env(found.env)


def describe(findings: list[Secret]) -> str:
    return "; ".join(f"{s.kind!r} env={s.env!r} line={s.line} value={s.value!r}" for s in findings) or "nothing"


# --- the corpus itself ----------------------------------------------------------------------------------------------


def test_corpus_is_well_formed():
    """Sizes the brief asks for; every snippet is Python; every planted secret is in its snippet."""
    assert len(PLANTED) >= 30 and len({e["kind"] for e in PLANTED}) >= 15
    assert len(LOOKALIKES) >= 30 and len(set(LOOKALIKES)) == len(LOOKALIKES)
    for entry in PLANTED:
        assert set(entry) == {"kind", "code", "secret"}
        assert entry["secret"] and entry["secret"] in entry["code"]
        ast.parse(entry["code"])
    for code in LOOKALIKES:
        ast.parse(code)


# --- planted secrets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", PLANTED_PARAMS)
def test_planted_secret_is_found(entry):
    findings = detect(entry["code"])
    hits = [s for s in findings if holds(s, entry["secret"])]
    assert hits, f"missed {entry['secret']!r}; found {describe(findings)}"
    assert any(well_formed(s) for s in hits), f"found, but kind/env malformed: {describe(hits)}"


@pytest.mark.parametrize("entry", PLANTED_PARAMS)
def test_planted_secret_line(entry):
    """`line` is the 1-based line of the literal; every planted secret starts on the line its literal starts on."""
    hits = [s for s in detect(entry["code"]) if holds(s, entry["secret"])]
    if not hits:
        pytest.skip("not found (test_planted_secret_is_found reports it)")
    expected = entry["code"][: entry["code"].index(entry["secret"])].count("\n") + 1
    assert expected in [s.line for s in hits]


# --- lookalikes -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", LOOKALIKE_PARAMS)
def test_lookalike_has_no_finding(code):
    findings = detect(code)
    assert findings == [], f"false positive: {describe(findings)}"


# --- the numbers ----------------------------------------------------------------------------------------------------


def measure() -> dict:
    misses, malformed, false_positives, errors = [], [], [], []
    for i, entry in enumerate(PLANTED):
        try:
            findings = detect(entry["code"])
        except Exception as error:  # a crash is a miss, reported as such
            errors.append((planted_id(i, entry), repr(error)))
            misses.append((planted_id(i, entry), entry))
            continue
        hits = [s for s in findings if holds(s, entry["secret"])]
        if not hits:
            misses.append((planted_id(i, entry), entry))
        elif not any(well_formed(s) for s in hits):
            malformed.append((planted_id(i, entry), hits))
    for i, code in enumerate(LOOKALIKES):
        try:
            findings = detect(code)
        except Exception as error:
            errors.append((f"lookalike-{i:02d}", repr(error)))
            continue
        false_positives.extend((f"lookalike-{i:02d}", code, s) for s in findings)
    found = len(PLANTED) - len(misses)
    return {
        "recall": found / len(PLANTED),
        "found": found,
        "misses": misses,
        "malformed": malformed,
        "false_positives": false_positives,
        "fp_snippets": len({name for name, _, _ in false_positives}),
        "errors": errors,
    }


def test_summary():
    m = measure()
    kinds = Counter(e["kind"] for e in PLANTED)
    lines = [
        f"secrets corpus: {len(PLANTED)} planted secrets of {len(kinds)} kinds, {len(LOOKALIKES)} lookalikes",
        f"recall: {m['recall']:.3f} ({m['found']}/{len(PLANTED)})",
        f"false positives: {len(m['false_positives'])} findings in {m['fp_snippets']}/{len(LOOKALIKES)} lookalikes",
    ]
    lines += [f"  MISS {name}: secret {e['secret']!r} in {e['code']!r}" for name, e in m["misses"]]
    lines += [f"  MALFORMED {name}: {describe(hits)}" for name, hits in m["malformed"]]
    lines += [f"  FALSE POSITIVE {name}: {describe([s])} in {code!r}" for name, code, s in m["false_positives"]]
    lines += [f"  ERROR {name}: {error}" for name, error in m["errors"]]
    report = "\n".join(lines)
    print(report)
    assert m["recall"] == 1.0 and not m["false_positives"] and not m["malformed"] and not m["errors"], report


# --- a Secret does not leak its value -------------------------------------------------------------------------------


def test_secret_str_and_repr_hide_the_value():
    detected = [s for entry in PLANTED for s in detect(entry["code"]) if holds(s, entry["secret"])]
    assert detected, "nothing detected to check"
    leaks = [s.kind for s in detected if s.value in str(s) or s.value in repr(s)]
    assert not leaks, f"str()/repr() show the value for: {sorted(set(leaks))}"


# --- the pre-check that spares most statements a visit ---------------------------------------------------------------

PRE_CHECK = [
    # code, whether it may hold a secret (so is visited), the secrets found
    ('df["f10"] = clip_outliers(df["f7"], q=0.95)\n', False, []),
    ("x = y + 1\n", False, []),
    ('s = "short"\n', False, []),
    ('dsn = "pwd=hunter2"\n', True, ["hunter2"]),
    ('KEY = "abcd" "efghij"\n', True, []),  # joined by ast, so visited; each literal is short
    ('h = f"{x}"\n', True, []),
    ('token = b"ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG"\n', True, ["ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG"]),
    ('label = "region"\n', False, []),
    ("print 'not python 3'\n", True, []),
    # comments: code commented out is scanned as code (with names), other comments as text (token shapes, URLs)
    ("# API_KEY = 'sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD'\nx = 1\n", True, ["sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD"]),
    ("# password = 'Tr0ub4dor&3xq'\nx = 1\n", True, ["Tr0ub4dor&3xq"]),
    ("x = 1  # old key: ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG, do not use\n", True, ["ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG"]),
    ("# db was postgresql://ml:s3cretPa55@10.0.0.5/features\nx = 1\n", True, ["s3cretPa55"]),
    ("# the token count per review is a feature; see the api key section of the docs\nx = 1\n", True, []),
    ("# sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\nx = 1\n", True, []),
]


@pytest.mark.parametrize("code, visited, values", PRE_CHECK, ids=[case[0].strip() for case in PRE_CHECK])
def test_pre_check_skips_only_code_without_a_possible_secret(code, visited, values):
    assert may_hold_secret(code) is visited
    assert [secret.value for secret in detect(code)] == values


def test_pre_check_lets_through_every_literal_a_detector_fires_on():
    """Every literal of the corpus with a finding, whatever it is bound to, is long enough or has a `=`."""
    nodes = [node for entry in PLANTED for node in ast.walk(ast.parse(entry["code"]))]
    for value in [node.value for node in nodes if isinstance(node, ast.Constant) and isinstance(node.value, str)]:
        if any(scan_literal(value, name, 1) for name in (None, "token", "password", "key")):
            assert may_fire(value), value
