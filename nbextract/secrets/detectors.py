"""The detectors of secrets in one literal, a table: known token shapes, credentials in URLs and headers,
secret-like names and fields, and entropy. Each sees the literal with the name it is bound to (assignment target,
keyword argument, dict key or `os.environ[...]` key). A Secret never shows its value in str() or repr().
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias


KNOWN_TOKENS = (
    ("aws access key id", "AWS_ACCESS_KEY_ID", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github token", "GITHUB_TOKEN", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("gitlab token", "GITLAB_TOKEN", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("slack webhook", "SLACK_WEBHOOK_URL", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}")),
    ("discord webhook", "DISCORD_WEBHOOK_URL", re.compile(r"https://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}")),
    ("teams webhook", "TEAMS_WEBHOOK_URL", re.compile(r"https://[A-Za-z0-9-]+\.webhook\.office\.com/webhookb2/[^\s\"'<>]{20,}")),
    ("teams webhook", "TEAMS_WEBHOOK_URL", re.compile(r"https://outlook\.office\.com/webhook/[^\s\"'<>]{20,}")),
    ("slack token", "SLACK_TOKEN", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("stripe key", "STRIPE_API_KEY", re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("anthropic api key", "ANTHROPIC_API_KEY", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("openai api key", "OPENAI_API_KEY", re.compile(r"\bsk-(?!ant-)(?:proj-)?[A-Za-z0-9_-]{20,}")),
    ("hugging face token", "HF_TOKEN", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("google api key", "GOOGLE_API_KEY", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("json web token", "JWT_TOKEN", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("private key", "PRIVATE_KEY", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----\s*[A-Za-z0-9+/=\s]{40,}[\s\S]*?(?:-----END (?:[A-Z]+ )*PRIVATE KEY-----|$)")),
    ("bearer token", "API_TOKEN", re.compile(r"(?<=[Bb]earer )[A-Za-z0-9._~+/-]{20,}=*")),
    ("mailgun key", "MAILGUN_API_KEY", re.compile(r"\bkey-[0-9a-f]{32}\b")),
    ("twilio key", "TWILIO_API_KEY", re.compile(r"\bSK[0-9a-f]{32}\b")),
    ("sendgrid key", "SENDGRID_API_KEY", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    ("discord bot token", "DISCORD_BOT_TOKEN", re.compile(r"\b[MN][A-Za-z0-9]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}")),
    ("telegram bot token", "TELEGRAM_BOT_TOKEN", re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b")),
    ("azure storage key", "AZURE_STORAGE_CONNECTION_STRING", re.compile(r"(?<=AccountKey=)[A-Za-z0-9+/]{20,}={0,2}")),
)
URL_CREDENTIALS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:([^\s@/]+)@[^\s]+")
PASSWORD_FIELD = re.compile(r"(?i)(?:password|pwd)=([^;\s&]+)")
QUERY_CREDENTIAL = re.compile(r"(?i)[?&](?:access_)?(token|key|api_?key|secret|sig|signature|auth)=([^&\s#\"'<>]{8,})")
FIELD = re.compile(r"""(?i)["']?\b([A-Za-z][A-Za-z0-9_.-]*)["']?[ \t]*[:=][ \t]*["']?([^\s"',;&{}<>]+)""")
"""`name: value` or `"name": "value"` inside a literal: YAML, JSON, .env or INI text, or prose."""
AUTH_SCHEME = re.compile(r"\b([Bb]asic|[Bb]earer|[Tt]oken)\s+([A-Za-z0-9._~+/-]{8,}=*)")
SECRET_NAME = re.compile(
    r"(?i)(api[_-]?key|apikey|secret|token|passwd|password|pwd|credential|private[_-]?key|access[_-]?key|auth|^pw$)"
)
NOT_SECRET_NAME = re.compile(
    r"(?i)((^|_)(env|name|path|file|dir|url|count|len|length|type|id|ids|size|limit|prefix|header|field|col|column|var|"
    r"pattern|regex|re)"
    r"($|_)|^(max|min|num|n)_|tokeni[sz])"
)
PLACEHOLDER = re.compile(r"(?i)^(?:<.*>|\{.*\}|\$\{.*\}|x+|\*+|\.+|changeme|change_me|your[_-].*|.*here|todo|none|null|dummy|test|example.*|secret|password)$")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
STANDARD_ENV = frozenset(
    "PWD OLDPWD HOME PATH USER USERNAME LOGNAME SHELL LANG LANGUAGE TERM TMPDIR TEMP TMP TZ DISPLAY EDITOR HOSTNAME "
    "PYTHONPATH PYTHONHOME VIRTUAL_ENV".split()
)
"""Variables the shell, the system or Python set: a secret's variable never shadows one (`pwd` -> PWD_SECRET)."""
BASIC_AUTH_CALLS = {"HTTPBasicAuth", "HTTPDigestAuth", "BasicAuth", "login"}
HEX = re.compile(r"^[0-9a-fA-F]+$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


Detector: TypeAlias = Callable[[str, str | None], list[tuple[str, str, str]]]
"""(literal, the name it is bound to) -> (kind, secret, environment variable) of each secret the detector finds."""


@dataclass(frozen=True)
class Secret:
    """A secret found in a literal; `value` is never shown by str() or repr()."""

    kind: str
    value: str = field(repr=False)
    env: str
    line: int
    literal: str = field(repr=False, default="")

    def __str__(self) -> str:
        return f"{self.kind} at line {self.line} (env {self.env})"


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def env_name(name: str | None, default: str) -> str:
    """`wandb_api_key` -> `WANDB_API_KEY`; a name that says nothing falls back to the kind's default."""
    if not name:
        return default
    upper = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    if not upper or upper[0].isdigit() or not SECRET_NAME.search(upper):
        return default
    return f"{upper}_SECRET" if upper in STANDARD_ENV else upper


def looks_random(value: str, minimum: float) -> bool:
    if " " in value or len(value) < 8 or PLACEHOLDER.match(value) or ENV_NAME.match(value) or UUID.match(value):
        return False
    if value.startswith(("data:", "http://", "https://", "/", "./", "~")) or "{" in value:
        return False
    return entropy(value) >= minimum


def known_tokens(value: str, name: str | None) -> list[tuple[str, str, str]]:
    found = []
    for kind, default_env, pattern in KNOWN_TOKENS:
        for match in pattern.finditer(value):
            found.append((kind, match.group(0), env_name(name, default_env)))
    return found


def url_credentials(value: str, name: str | None) -> list[tuple[str, str, str]]:
    found = []
    for pattern in (URL_CREDENTIALS, PASSWORD_FIELD):
        for match in pattern.finditer(value):
            password = match.group(1)
            if not PLACEHOLDER.match(password) and not password.startswith(("$", "{")):
                found.append(("password in connection string", password, env_name(name, "DATABASE_URL")))
    return found


def query_credentials(value: str, name: str | None) -> list[tuple[str, str, str]]:
    """`https://host/webhook/42?token=...`: a credential passed in a URL's query."""
    found = []
    for match in QUERY_CREDENTIAL.finditer(value):
        if looks_random(match.group(2), 3.0) and any(char.isdigit() for char in match.group(2)):
            found.append(("credential in url", match.group(2), env_name(name, "WEBHOOK_URL")))
    return found


def header_credentials(value: str, name: str | None) -> list[tuple[str, str, str]]:
    """`Authorization: Basic <base64 of user:password>`, or a random-looking `Bearer` / `token` credential."""
    found = []
    for match in AUTH_SCHEME.finditer(value):
        scheme, credential = match.group(1).lower(), match.group(2)
        if basic_pair(credential) if scheme == "basic" else random_credential(credential):
            found.append((f"{scheme} credentials", credential, env_name(name, "API_TOKEN")))
    return found


def basic_pair(credential: str) -> bool:
    """True for base64 of `user:password`."""
    try:
        decoded = base64.b64decode(credential + "=" * (-len(credential) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, colon, password = decoded.partition(":")
    return bool(colon and password) and decoded.isprintable()


def random_credential(credential: str) -> bool:
    return any(char.isdigit() for char in credential) and looks_random(credential, 3.0)


def fields(value: str, name: str | None) -> list[tuple[str, str, str]]:
    """Secret-named fields of text held in a literal: `password: hunter2xyz` (YAML), `{"api_key": "..."}` (JSON)."""
    found = []
    for match in FIELD.finditer(value):
        found += named_secret(match.group(2).rstrip(".:)"), match.group(1))
    return found


def named_secret(value: str, name: str | None) -> list[tuple[str, str, str]]:
    """A random-looking value bound to a secret-like name; a bare `key` (`login(key=...)`) needs a long random value."""
    if not name:
        return []
    if name.lower() == "key":
        if len(value) >= 20 and any(char.isdigit() for char in value) and looks_random(value, 3.5):
            return [("api key", value, "API_KEY")]
        return []
    if not SECRET_NAME.search(name) or NOT_SECRET_NAME.search(name) or not looks_random(value, 2.5):
        return []
    kind = "password" if re.search(r"(?i)pass|pwd|^pw$", name) else "api key" if re.search(r"(?i)key", name) else "token"
    return [(kind, value, env_name(name, "API_KEY"))]


def encodes_text(value: str) -> bool:
    """Base64 of readable text (`SGVsbG8sIFdvcmxk...`) is data, not a credential."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    printable = sum(char.isprintable() for char in decoded)
    return printable >= 0.95 * len(decoded) and " " in decoded


def high_entropy(value: str, name: str | None) -> list[tuple[str, str, str]]:
    if len(value) < 24 or HEX.match(value) or not looks_random(value, 4.2) or encodes_text(value):
        return []
    classes = sum(any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit))
    if classes < 3 or set(value) <= set("ACGTN"):
        return []
    return [("high-entropy string", value, env_name(name, "SECRET_TOKEN"))]


SHAPES: tuple[Detector, ...] = (known_tokens, url_credentials, query_credentials, header_credentials)
"""The detectors that need no name: what redact() replaces in any text."""
STORED: tuple[Detector, ...] = (*SHAPES, named_secret, fields)
"""The detectors for prose and for data a notebook stores (markdown, metadata, outputs), where inline images and ids
are random-looking by nature."""
DETECTORS: tuple[Detector, ...] = (*STORED, high_entropy)


def scan_literal(value: str, name: str | None, line: int, detectors=DETECTORS) -> list[Secret]:
    """Secrets in one literal; the first detector that fires on a piece of it names its kind."""
    found: list[Secret] = []
    for detector in detectors:
        for kind, secret, env in detector(value, name):
            if not any(secret in other.value or other.value in secret for other in found):
                found.append(Secret(kind, secret, env, line, value))
    return found


def detect_text(text: str, detectors=DETECTORS) -> list[Secret]:
    """Secrets in text that is not code (markdown, a shell line, a cell that does not parse), line by line: token
    shapes, credentials, and fields such as `password: ...` or `api_key=...`."""
    return [secret for number, line in enumerate(text.splitlines(), 1) for secret in scan_literal(line, None, number, detectors)]
