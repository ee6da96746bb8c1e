"""Find secrets in string literals: known token shapes, credentials in URLs, secret-like names, and entropy.

Detectors are a table; each sees one literal with the name it is bound to (assignment target, keyword argument, dict
key or `os.environ[...]` key). A Secret never shows its value in str() or repr().
"""

from __future__ import annotations

import ast
import base64
import binascii
import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TypeAlias, cast

import libcst as cst

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


class SecretFinder(cst.CSTVisitor):
    """Visits string literals with the name they are bound to."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code
        self.names: list[str | None] = []
        self.call_names: list[str | None] = []
        self.not_values: set[int] = set()
        self.positional_password: int | None = None
        self.seen: Counter = Counter()
        self.found: list[Secret] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        self.names.append(target_name(node.targets[0].target))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self.names.pop()

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names.append(target_name(node.target))

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self.names.pop()

    def visit_Call(self, node: cst.Call) -> None:
        """`os.environ.setdefault("KEY", value)` and `os.putenv("KEY", value)` name their value KEY."""
        callee = node.func.attr.value if isinstance(node.func, cst.Attribute) else getattr(node.func, "value", "")
        if callee in BASIC_AUTH_CALLS and len(node.args) >= 2 and node.args[1].keyword is None:
            self.positional_password = id(node.args[1])
        named = callee in ("setdefault", "putenv")
        first = node.args[0].value if named and node.args else None
        self.call_names.append(cast(str, first.evaluated_value) if isinstance(first, cst.SimpleString) else None)  # environ keys are text
        if isinstance(first, cst.SimpleString):
            self.not_values.add(id(first))

    def leave_Call(self, original_node: cst.Call) -> None:
        self.call_names.pop()

    def visit_Arg(self, node: cst.Arg) -> None:
        positional = self.call_names[-1] if self.call_names else None
        if id(node) == self.positional_password:
            positional = "password"
        self.names.append(node.keyword.value if node.keyword is not None else positional)

    def visit_Param(self, node: cst.Param) -> None:
        """`def connect(password="...")`: a default is bound to its parameter's name."""
        self.names.append(node.name.value)

    def leave_Param(self, original_node: cst.Param) -> None:
        self.names.pop()

    def visit_SubscriptElement(self, node: cst.SubscriptElement) -> None:
        if isinstance(node.slice, cst.Index):
            self.not_values.add(id(node.slice.value))

    def leave_Arg(self, original_node: cst.Arg) -> None:
        self.names.pop()

    def visit_DictElement(self, node: cst.DictElement) -> None:
        self.not_values.add(id(node.key))
        key = node.key.evaluated_value if isinstance(node.key, cst.SimpleString) else None
        self.names.append(key if isinstance(key, str) else None)

    def leave_DictElement(self, original_node: cst.DictElement) -> None:
        self.names.pop()

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if id(node) not in self.not_values:
            self.scan(as_text(node.evaluated_value), node.value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self.scan(node.value, node.value)

    def visit_Comment(self, node: cst.Comment) -> None:
        """A comment is often code commented out (`# API_KEY = "sk-..."`): scanned as code, with the names its
        literals are bound to, or, when it does not parse, as text (token shapes and URL credentials only)."""
        found = detect(node.value.lstrip("#").strip())
        if found:
            self.seen[node.value] += 1
            line = line_of(self.code, node.value, self.seen[node.value])
            self.found += [replace(secret, line=line) for secret in found if not self.holds(secret)]

    def holds(self, secret: Secret) -> bool:
        return any(secret.value in other.value or other.value in secret.value for other in self.found)

    def scan(self, value: str, text: str) -> None:
        """Scans the value of the literal written `text`. Literals are visited in source order, so the n-th visit of a
        text is its n-th occurrence in the code: its line is looked up only when it holds a secret."""
        self.seen[text] += 1
        found = scan_literal(value, self.names[-1] if self.names else None, 0)
        if found:
            line = line_of(self.code, text, self.seen[text])
            self.found += [replace(secret, line=line + text[: max(text.find(secret.value), 0)].count("\n")) for secret in found]


def target_name(target: cst.BaseExpression) -> str | None:
    """`key = ...` -> key; `cfg.api_key = ...` -> api_key; `os.environ["TOKEN"] = ...` -> TOKEN."""
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            value = index.value.evaluated_value
            return value if isinstance(value, str) else None
    return None


def line_of(code: str, text: str, occurrence: int = 1) -> int:
    position = -1
    for _ in range(occurrence):
        position = code.find(text, position + 1)
        if position < 0:
            return 1
    return code.count("\n", 0, position) + 1


def as_text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def may_fire(value: str) -> bool:
    """False for a value no detector fires on whatever its name: every token shape, URL with a password,
    random-looking or high-entropy value is 8 characters or more, and a shorter secret is a `pwd=...` field."""
    return len(value) >= 8 or "=" in value


def may_hold_secret(code: str) -> bool:
    """False only for code none of whose literals or comments can hold a secret: code without a quote has no literal; else
    Python's own parser (far cheaper than a libcst visit) gives the value of each literal (adjacent literals joined,
    which can only make a value longer). An f-string, or code `ast` cannot parse, may hold one."""
    if "#" in code:  # a comment, or a literal holding "#": comments are scanned too
        return True
    if "'" not in code and '"' not in code:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return any(isinstance(node, ast.JoinedStr) or may_fire_constant(node) for node in ast.walk(tree))


def may_fire_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and may_fire(as_text(node.value))


def find_in(node: cst.CSTNode, code: str) -> list[Secret]:
    """Secrets in a parsed node whose source text is `code` (lines are relative to it); the node is visited only
    when its code may hold one."""
    if not may_hold_secret(code):
        return []
    finder = SecretFinder(code)
    node.visit(finder)
    return finder.found


def detect(code: str) -> list[Secret]:
    """Secrets in Python source code; code that does not parse is scanned as one literal per line."""
    try:
        module = cst.parse_module(code)
    except cst.ParserSyntaxError:
        return detect_text(code)
    return find_in(module, code)


PIECE = 8
"""Any run of this many characters of a known secret is redacted too: the leak check refuses the last 8."""


def detect_text(text: str, detectors=DETECTORS) -> list[Secret]:
    """Secrets in text that is not code (markdown, a shell line, a cell that does not parse), line by line: token
    shapes, credentials, and fields such as `password: ...` or `api_key=...`."""
    return [secret for number, line in enumerate(text.splitlines(), 1) for secret in scan_literal(line, None, number, detectors)]


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
