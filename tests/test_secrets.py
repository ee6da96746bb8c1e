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
import json
import re
from collections import Counter

import pytest
from secrets_corpus import LOOKALIKES, PLANTED

from nbextract.cli import main
from nbextract.errors import ConversionError
from nbextract.secrets import Secret, detect, may_fire, may_hold_secret, redact, scan_literal

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


# --- redact: what every message, log line and copied text goes through ----------------------------------------------

REDACTED = [
    # text, known secret values, the text redact() returns
    ("slack rejected token xoxb-1234567890-abcdefghijkl", (), "slack rejected token <secret: slack token>"),
    ("key ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG", (), "key <secret: github token>"),
    ("dsn postgresql://ml:s3cretPa55@10.0.0.5/db", (), "dsn postgresql://ml:<secret: password in connection string>@10.0.0.5/db"),
    ("Server=db;User=sa;Password=Hunter2xyz;", (), "Server=db;User=sa;Password=<secret: password in connection string>;"),
    ("-H 'Authorization: Bearer abcDEF123456ghiJKL789'", (), "-H 'Authorization: Bearer <secret: bearer token>'"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==", (), "Authorization: Basic <secret: basic credentials>"),
    ("password=${DB_PASSWORD} and url https://user:<pass>@host/x", (), "password=${DB_PASSWORD} and url https://user:<pass>@host/x"),
    ("the fit took 3.2 s; 10 rows", (), "the fit took 3.2 s; 10 rows"),
    ("Basic Authentication and Bearer tokens", (), "Basic Authentication and Bearer tokens"),
    ("--header='Authorization: token Y6uB0nC5dE8hJ2aGq4fV'", (), "--header='Authorization: token <secret: token credentials>'"),
    ("POST https://ci.example/webhook/4?token=Zx9Yw8Vu7Ts6", (), "POST https://ci.example/webhook/4?token=<secret: credential in url>"),
    ("hook https://discord.com/api/webhooks/118345678/Xq3vR8tLmN2pK7wZ9yB4cD6f", (), "hook <secret: discord webhook>"),
    ("db said: wrong password hunter2xyz!", ("hunter2xyz",), "db said: wrong password <secret>!"),
    ("tail was 2xyzABCD, head was hunterpw", ("hunterpw2xyzABCD",), "tail was <secret>, head was <secret>"),
    ("pieces: abc123defXX 23def45", ("abc123def456",), "pieces: <secret>XX 23def45"),
    ("short 7 chars: abcdefg, abcdef", ("abcdefg",), "short 7 chars: <secret>, abcdef"),
]


@pytest.mark.parametrize("text, known, expected", REDACTED, ids=[case[0][:30] for case in REDACTED])
def test_redact(text, known, expected):
    assert redact(text, known) == expected


def test_redact_marks_a_secret_with_its_variable():
    secret = Secret("api key", "Zq8vLm3nRt6wXy2bKd9f", "NAME_API_KEY", 1)
    assert redact("# api_key = 'Zq8vLm3nRt6wXy2bKd9f'", [secret]) == "# api_key = '<secret: NAME_API_KEY>'"


def test_error_messages_are_redacted():
    error = ConversionError("cell failed: RuntimeError: slack rejected token xoxb-1234567890-abcdefghijkl", path="nb.ipynb", cell=3)
    assert str(error) == "nb.ipynb, cell 3: cell failed: RuntimeError: slack rejected token <secret: slack token>"


# --- end to end: forms the detectors missed never reach the package -------------------------------------------------

PIPELINE = [
    "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n",
    "X = np.random.rand(40, 3)\ny = (X[:, 0] > 0.5).astype(int)\nX_train, X_test, y_train = X[:30], X[30:], y[:30]\n",
    "clf = LogisticRegression().fit(X_train, y_train)\n",
    "y_pred = clf.predict(X_test)\n",
]
MISSED_FORMS = {
    # variable -> the cell binding it, the secret it holds
    "cfg_text": ('cfg_text = """\ndb:\n  host: x\n  password: hunter2xyzQ\n"""\n', "hunter2xyzQ"),
    "cfg_json": ("cfg_json = '{\"user\": \"ml\", \"password\": \"Tr0ub4dorXq9\"}'\n", "Tr0ub4dorXq9"),
    "headers": ('headers = {"Authorization": "Basic dXNlcjpzM2NyM3RQYTU1dzByZA=="}\n', "dXNlcjpzM2NyM3RQYTU1dzByZA=="),
    "discord": ('discord = "https://discord.com/api/webhooks/123456789012345678/aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"\n', "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"),
    "teams": ('teams = "https://contoso.webhook.office.com/webhookb2/1234abcd@5678efgh/IncomingWebhook/0123456789abcdef0123456789abcdef/x"\n', "0123456789abcdef0123456789abcdef"),
    "notify": ('notify = "https://example.com/api/webhook/42?token=Zx9Yw8Vu7Ts6Rq5P"\n', "Zx9Yw8Vu7Ts6Rq5P"),
    'connect("h")': ('def connect(host, password="Kd9fXy2bRt6wPz4"):\n    return (host, password)\n', "Kd9fXy2bRt6wPz4"),
}


def pieces(secret: str) -> set[str]:
    return {secret[start : start + 8] for start in range(len(secret) - 7)}


def test_missed_forms_never_reach_the_package(make_notebook, tmp_path, capsys):
    """Each form, read by the training code, was copied into config.toml, README.md, nbextract.json or train.py."""
    uses = " + ".join(f"len(str({name}))" for name in MISSED_FORMS)
    cells = [PIPELINE[0], *(cell for cell, _ in MISSED_FORMS.values()), PIPELINE[1], f"X_train = X_train * (1 + 0 * ({uses}))\n", *PIPELINE[2:]]
    assert main(["convert", str(make_notebook(cells)), "-o", str(tmp_path / "out")]) == 0
    texts = {str(path): path.read_text("utf-8", "replace") for path in (tmp_path / "out").rglob("*") if path.is_file()}
    texts["output"] = "".join(capsys.readouterr())
    leaks = [(secret[:3], place) for _, secret in MISSED_FORMS.values() for place, text in texts.items() if any(p in text for p in pieces(secret))]
    assert not leaks


# --- environment variable names -------------------------------------------------------------------------------------

ENV_NAMES = [
    # cells, the environment variable of each secret, in order
    (['pwd = "s3cretPa55w0rd"\n'], ["PWD_SECRET"]),
    (['HOME = "Zq8vLm3nRt6wXy2bKd9fPz4Qa7Ue1Wc"\n'], ["SECRET_TOKEN"]),  # HOME says nothing: the kind names it
    (['user_pwd = "s3cretPa55w0rd"\n'], ["USER_PWD"]),
    (['a.api_key = "Zq8vLm3nRt6wXy2bKd9f"\n', 'b.api_key = "Pz4Kd9fXy2bRt6wQa7Ue"\n'], ["API_KEY", "API_KEY_2"]),
    (['a.api_key = "Zq8vLm3nRt6wXy2bKd9f"\n', 'b.api_key = "Zq8vLm3nRt6wXy2bKd9f"\n'], ["API_KEY", "API_KEY"]),
    (['x = "ghp_4fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aG"\n', 'y = "ghp_9fV8kQ2mZ7xL1pR9sT3wY6uB0nC5dE8hJ2aX"\n'], ["GITHUB_TOKEN", "GITHUB_TOKEN_2"]),
]


@pytest.mark.parametrize("cells, envs", ENV_NAMES, ids=[str(case[1]) for case in ENV_NAMES])
def test_environment_names_never_shadow_standard_variables_nor_each_other(graph_of, cells, envs):
    statements = graph_of(*cells)
    found = [secret.env for _, secret in statements.secrets]
    assert found == envs
    assert [secret.env for statement in statements.statements for secret in statement.secrets] == found


def test_generated_code_reads_distinct_names(make_notebook, tmp_path):
    cells = [
        PIPELINE[0],
        'pwd = "s3cretPa55w0rd"\nclient_a = dict(api_key="Zq8vLm3nRt6wXy2bKd9f", pwd=pwd)\n',
        'client_b = dict(api_key="Pz4Kd9fXy2bRt6wQa7Ue")\n',
        PIPELINE[1],
        "X_train = X_train * (1 + 0 * len(str(client_a) + str(client_b)))\n",
        *PIPELINE[2:],
    ]
    assert main(["convert", str(make_notebook(cells)), "-o", str(tmp_path / "out")]) == 0
    listed = (tmp_path / "out" / ".env.example").read_text()
    assert sorted(line.split("=")[0] for line in listed.splitlines() if "=" in line and not line.startswith("#")) == ["API_KEY", "API_KEY_2", "PWD_SECRET"]
    train = (tmp_path / "out" / "training" / "train.py").read_text()
    assert 'secret("API_KEY_2")' in train and 'secret("PWD")' not in train


# --- huge literals: bounded before libcst walks them ----------------------------------------------------------------


def test_a_cell_of_too_many_items_is_refused_before_it_is_parsed(graph_of):
    with pytest.raises(ConversionError) as refused:
        graph_of("import numpy as np\n", "x = [\n" + "0, 1, 2, 3, 4,\n" * 5_000 + "]\n")
    assert refused.value.exit_code == 1 and (refused.value.cell, refused.value.line) == (2, 2)
    assert str(refused.value).startswith("test.ipynb, cell 2, line 2: 25,000 items in one cell, more than nbextract analyses (20,000)")


def test_commas_inside_strings_and_comments_are_not_items(graph_of):
    csv = '"' + "1,2," * 6_000 + '"'
    statements = graph_of(f"data = {csv}\n# {',' * 20_000}\ntable = '''\n{'a,b,' * 6_000}\n'''\n")
    assert [statement.kind for statement in statements.statements] == ["assign", "assign"]


def test_secrets_outside_the_code_never_reach_the_package(make_notebook, tmp_path, capsys):
    """Markdown, shell lines, a cell that does not parse, metadata and outputs: reported, never copied."""
    secrets = ["Zq8vLm3nRt6wXy2bKd9f", "Pz4Kd9fXy2bRt6wQ", "Y6uB0nC5dE8hJ2aGq4fV", "sk-proj-Wc7rT2yU9pLkQa7Ue1Mn4Bv8"]
    cells = [
        PIPELINE[0],
        (f"Call the API with `api_key={secrets[0]}` for now", (), "markdown"),
        f"!pip install --index-url https://deploy:{secrets[1]}@pypi.example.com/simple foo==1.0\n"
        f"!wget --header='Authorization: token {secrets[2]}' https://example.com/d.csv\n",
        f'key = "{secrets[3]}"\nif True print(key)\n',
        *PIPELINE[1:],
    ]
    path = make_notebook(cells)
    notebook = json.loads(path.read_text())
    notebook["metadata"]["wandb"] = {"api_key": secrets[0]}
    notebook["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [f"token {secrets[2]}\n"]}]
    path.write_text(json.dumps(notebook))
    assert main(["convert", str(path), "-o", str(tmp_path / "out")]) == 0
    texts = {str(file): file.read_text("utf-8", "replace") for file in (tmp_path / "out").rglob("*") if file.is_file()}
    texts["output"] = "".join(capsys.readouterr())
    assert not [(secret[:3], place) for secret in secrets for place, text in texts.items() if any(p in text for p in pieces(secret))]
    report = texts[str(tmp_path / "out" / "CONVERSION.md")]
    assert report.count("remove it from the source") == 4
