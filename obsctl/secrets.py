"""Secrets stay out of the spec's URLs and addresses, and out of everything obsctl prints.

A spec names secrets by file (`*_file` settings) or by reference (a blackbox module); a URL or address that
carries one inline would be copied into every output. `find_credentials` says what a URL or address carries;
`mask` hides credentials in any text obsctl prints (a diagnostic's message or the spec line it quotes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Query (or fragment) parameter names that carry credentials, compared lowercased with '-' read as '_'.
CREDENTIAL_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "api_token",
        "private_token",
        "bearer",
        "jwt",
        "key",
        "apikey",
        "api_key",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "auth",
        "authorization",
        "sig",
        "signature",
        "credential",
        "credentials",
        "session",
        "sessionid",
        "session_id",
    }
)
_CREDENTIAL_SUFFIXES = (
    "_token",
    "_key",
    "_secret",
    "_password",
    "_passwd",
    "_sig",
    "_signature",
    "_credential",
    "_credentials",
    "_auth",
)

MASK = "***"
# scheme://user:password@ or scheme://token@ (what precedes the host)
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s/?#@:'\"]*)(?P<pw>:[^\s/@'\"]*)?@"
)
# user:password@host without a scheme (an SMTP smarthost, a scrape target)
_BARE_USERINFO = re.compile(r"(?<![\w.%+-])(?P<user>[\w.%+-]+):(?P<pw>[^\s/@'\":]+)@(?=[\w\[])")
_PARAM = re.compile(r"(?P<sep>[?&;#])(?P<name>[^=&;#\s'\"]+)=(?P<value>[^&;#\s'\"]*)")


@dataclass(frozen=True)
class Credential:
    """One credential found in a URL or address: what it is (for the message) and its value (never printed)."""

    what: str  # "userinfo" or "parameter"
    name: str  # the parameter name ('' for userinfo)
    value: str


def is_credential_param(name: str) -> bool:
    from urllib.parse import unquote

    n = unquote(name).strip().lower().replace("-", "_")
    return n in CREDENTIAL_PARAMS or n.endswith(_CREDENTIAL_SUFFIXES)


def find_credentials(text: str) -> list[Credential]:
    """Credentials inline in a URL (`https://user:pass@host/?token=...`) or an address (`user:pass@host:25`)."""
    from urllib.parse import parse_qsl, urlsplit

    found: list[Credential] = []
    if "://" in text:
        try:
            parts = urlsplit(text)
            netloc, query, fragment = parts.netloc, parts.query, parts.fragment
        except ValueError:  # a malformed URL (e.g. a bad IPv6 host): read its pieces by hand
            rest = text.split("://", 1)[1]
            netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
            query = rest.partition("?")[2].partition("#")[0]
            fragment = rest.partition("#")[2]
    else:  # host:port, maybe user:pass@host:port
        netloc, _, query = text.partition("?")
        query, _, fragment = query.partition("#")
    if "@" in netloc:
        found.append(Credential("userinfo", "", netloc.rpartition("@")[0]))
    for part in (query, fragment):
        for name, value in parse_qsl(part, keep_blank_values=True):
            if is_credential_param(name) and value:
                found.append(Credential("parameter", name, value))
    return found


def describe(creds: list[Credential]) -> str:
    """What was found, for a message that never shows a secret's value."""
    c = creds[0]
    if c.what == "userinfo":
        return "credentials before the host (user:password@)"
    return f"the credential-like query parameter '{c.name}'"


URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"'`]+")


def find_in_text(text: str) -> list[Credential]:
    """Credentials inline in any URL inside free text (an annotation, a runbook link)."""
    out: list[Credential] = []
    for m in URL_IN_TEXT.finditer(text):
        out += find_credentials(m.group(0))
    return out


def mask(text: str) -> str:
    """`text` with the credentials of its URLs and addresses replaced by ***: `user:***@`, `token=***`."""
    if "@" not in text and "=" not in text:
        return text

    def userinfo(m: re.Match) -> str:
        if m.group("pw") is not None:
            return f"{m.group('scheme')}{m.group('user')}:{MASK}@"
        return f"{m.group('scheme')}{MASK}@"  # a lone user part is often a token (https://TOKEN@host)

    text = _USERINFO.sub(userinfo, text)
    text = _BARE_USERINFO.sub(lambda m: f"{m.group('user')}:{MASK}@", text)
    return _PARAM.sub(
        lambda m: (
            f"{m.group('sep')}{m.group('name')}={MASK}"
            if is_credential_param(m.group("name")) and m.group("value")
            else m.group(0)
        ),
        text,
    )
