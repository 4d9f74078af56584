"""A camera's registry record and the validation of its fields (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from urllib.parse import quote, unquote, urlsplit

NAME_MAX = 64
# Letters (any script, so Chinese names work), digits, space and a few separators.
_NAME_RE = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .\-()#/]*$")
STREAM_SCHEMES = ("rtsp", "rtsps")
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}
# What a stored URL shows in place of a secret, and what a URL sent back with it means: the
# credentials stored for this camera (as long as its host stays the same).
MASK = "***"
# Query parameters that carry credentials, as camera vendors spell them (Foscam `usr`/`pwd`,
# clones `loginuse`/`loginpas`, Reolink and others `user`/`password`/`token`, …). Their values
# are secrets: taken out of the URL like user:password@, never shown, never in the ledger.
QUERY_USER_KEYS = frozenset({"user", "username", "usr", "uname", "login", "loginuse", "account"})
QUERY_SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "pw",
        "psw",
        "psd",
        "loginpas",
        "token",
        "auth",
        "authkey",
        "auth_key",
        "access_token",
        "key",
        "secret",
    }
)
_QUERY_KEYS = QUERY_USER_KEYS | QUERY_SECRET_KEYS
# user:password@ after a scheme (up to the last @ before the path), and key=value of a
# credential key in a query: what `redact_text` masks in any text (a log line, an error).
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s?#]*@")
# a query parameter anywhere in a text: its name (matched percent-decoded, any case) and value
_QUERY_PARAM = re.compile(r"(?P<key>[?&;](?P<name>[^=&;#?\s'\"]+)=)[^&;#\s'\"]*")


class CameraFieldError(ValueError):
    """Invalid input for one named field of a camera."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class CameraSpec:
    """What a user registers about a camera. Credentials are held apart from URLs."""

    name: str
    url: str
    place: str
    sub_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    site: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    direction_deg: float | None = None
    installed_on: date | None = None
    signage_posted: bool = False

    def with_changes(self, **changes: object) -> CameraSpec:
        known = {f.name for f in fields(self)}
        for key in changes:
            if key not in known:
                raise CameraFieldError(key, "unknown field")
        return replace(self, **changes)  # type: ignore[arg-type]


def validate(spec: CameraSpec) -> CameraSpec:
    """Return the spec with credentials moved out of the URLs, or raise CameraFieldError."""
    name = spec.name.strip()
    if not name:
        raise CameraFieldError("name", "must not be empty")
    if len(name) > NAME_MAX:
        raise CameraFieldError("name", f"at most {NAME_MAX} characters")
    if not _NAME_RE.match(name):
        raise CameraFieldError(
            "name", "use letters, digits, spaces and . - ( ) # / (it must start with a letter)"
        )
    url, user, password = split_credentials("url", spec.url)
    sub_url = None
    if spec.sub_url:
        sub_url, sub_user, sub_password = split_credentials("sub_url", spec.sub_url)
        user = _one("sub_url", "user", user, sub_user)
        password = _one("sub_url", "password", password, sub_password)
    for key, value in (("username", spec.username), ("password", spec.password)):
        if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise CameraFieldError(key, "must not contain control characters")
    username, password = spec.username or user, spec.password or password
    for key, given in (("url", url), ("sub_url", sub_url)):
        users, secrets = masks(given) if given else (False, False)
        if (users and not username) or (secrets and not password):
            raise CameraFieldError(
                key,
                f"{MASK} stands for the credentials stored for this camera, and there are none "
                "(a new host needs them again): give the username and password",
            )
    place = spec.place.strip()
    if not place:
        raise CameraFieldError("place", "a place category is required (e.g. bank-lobby)")
    _check_range("latitude", spec.latitude, -90.0, 90.0)
    _check_range("longitude", spec.longitude, -180.0, 180.0)
    if (spec.latitude is None) != (spec.longitude is None):
        raise CameraFieldError("latitude", "give latitude and longitude together")
    _check_range("direction_deg", spec.direction_deg, 0.0, 360.0)
    if spec.installed_on is not None and spec.installed_on > date.today():
        raise CameraFieldError("installed_on", "cannot be in the future")
    return replace(
        spec,
        name=name,
        url=url,
        sub_url=sub_url,
        place=place,
        username=username,
        password=password,
        site=(spec.site or "").strip() or None,
        address=(spec.address or "").strip() or None,
    )


def split_credentials(field_name: str, url: str) -> tuple[str, str | None, str | None]:
    """Check a stream URL and take its credentials out of it: user:password@, and the values
    of credential parameters in its query (`?user=…&password=…`), which stay in the URL as
    `***` so that `with_credentials` puts them back where the camera expects them. A value
    that is already `***` means the credentials stored for the camera."""
    text = url.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise CameraFieldError(field_name, "must not contain control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise CameraFieldError(field_name, f"not a valid URL ({redact_text(str(exc))})") from exc
    if parts.scheme not in STREAM_SCHEMES:
        raise CameraFieldError(field_name, "must start with rtsp:// or rtsps://")
    if not parts.hostname:
        raise CameraFieldError(field_name, "has no host")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc += f":{port}"
    user = _given(parts.username)
    password = _given(parts.password)
    query = []
    for item in _query_items(parts.query):
        key, eq, value = item.partition("=")
        kind = _query_kind(key)
        if eq and kind in _QUERY_KEYS:
            found = _given(value)
            if kind in QUERY_USER_KEYS:
                user = _one(field_name, "user", user, found)
            else:
                password = _one(field_name, "password", password, found)
            item = f"{key}={MASK}"
        query.append(item)
    clean = parts._replace(netloc=netloc, query="".join(query)).geturl()
    return clean, user, password


def _query_items(query: str) -> list[str]:
    """A query's items and the separators between them (`&` and `;`, both in use), so that
    joining the list gives the query back."""
    return re.split(r"([&;])", query) if query else []


def _query_kind(key: str) -> str:
    """A parameter's name as matched against the credential spellings: percent-decoded,
    lower case (`pass%77ord` is `password`)."""
    return unquote(key).lower()


def _given(value: str | None) -> str | None:
    """A credential taken from a URL (percent-decoded); None for none or for `***`."""
    if not value:
        return None
    value = unquote(value)
    return None if value == MASK else value


def _one(field_name: str, what: str, first: str | None, second: str | None) -> str | None:
    if first and second and first != second:
        raise CameraFieldError(
            field_name, f"carries two different {what}s: give the camera's credentials once"
        )
    return first or second


def masks(url: str) -> tuple[bool, bool]:
    """Whether a URL's query holds a user and a secret parameter shown as `***` (their values
    stored apart)."""
    users = secrets = False
    for item in _query_items(urlsplit(url).query):
        key, _, value = item.partition("=")
        if value == MASK:
            users = users or _query_kind(key) in QUERY_USER_KEYS
            secrets = secrets or _query_kind(key) in QUERY_SECRET_KEYS
    return users, secrets


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """The URL ffmpeg connects to; never shown or logged. The credentials go where they were
    given: into the query parameters shown as `***`, the rest as user:password@."""
    parts = urlsplit(url)
    query, user_placed, password_placed = [], False, False
    for item in _query_items(parts.query):
        key, _, value = item.partition("=")
        kind = _query_kind(key)
        if value == MASK and kind in _QUERY_KEYS:
            if kind in QUERY_USER_KEYS:
                user_placed, secret = True, username
            else:
                password_placed, secret = True, password
            item = f"{key}={quote(secret or '', safe='')}"
        query.append(item)
    netloc = parts.netloc
    password_left = bool(password) and not password_placed
    if (username and not user_placed) or password_left:
        auth = quote(username or "", safe="")
        if password_left:
            auth += ":" + quote(password or "", safe="")
        netloc = f"{auth}@{netloc}"
    return parts._replace(netloc=netloc, query="".join(query)).geturl()


def endpoint(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) a stream URL connects to, the port defaulted by scheme: what
    camera credentials are bound to (rtsps to rtsp on the same port would send them in
    clear). None for a URL that does not parse."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS.get(scheme, 0)


def redact_text(text: str) -> str:
    """The text with every URL's user:password@ and every credential query value replaced by
    `***`: for any line that may name a camera URL (ffmpeg's log, an error, a stored URL)."""
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    return _QUERY_PARAM.sub(
        lambda m: (
            f"{m.group('key')}{MASK}" if _query_kind(m.group("name")) in _QUERY_KEYS else m.group(0)
        ),
        text,
    )


def _check_range(name: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not (low <= value <= high):
        raise CameraFieldError(name, f"must be between {low:g} and {high:g}")


class Redactor:
    """Redacts the text that a process connected to one URL prints: the patterns of
    `redact_text`, and the URL's own secrets (its password, its secret query values) wherever
    else they appear, as given and percent-encoded (ffmpeg may print either): a form no
    pattern knows is caught too."""

    MIN_SECRET = 4  # shorter values are left to the patterns: "1" is in every line

    def __init__(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            found = [parts.password]
            query = parts.query
        except ValueError:
            found, query = [], ""
        for item in query.split("&") if query else []:
            key, eq, value = item.partition("=")
            if eq and key.lower() in QUERY_SECRET_KEYS:
                found.append(value)
        values: set[str] = set()
        for raw in found:
            if raw:
                values.update({raw, unquote(raw), quote(unquote(raw), safe="")})
        self._secrets = sorted((v for v in values if len(v) >= self.MIN_SECRET), key=len)[::-1]

    def __call__(self, text: str) -> str:
        text = redact_text(text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text
