"""A camera's registry record and the validation of its fields (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from urllib.parse import urlsplit

NAME_MAX = 64
# Letters (any script, so Chinese names work), digits, space and a few separators.
_NAME_RE = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .\-()#/]*$")
STREAM_SCHEMES = ("rtsp", "rtsps")


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
        user = user or sub_user
        password = password or sub_password
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
        username=spec.username or user,
        password=spec.password or password,
        site=(spec.site or "").strip() or None,
        address=(spec.address or "").strip() or None,
    )


def split_credentials(field_name: str, url: str) -> tuple[str, str | None, str | None]:
    """Check a stream URL and take any user:password@ out of it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise CameraFieldError(field_name, f"not a valid URL ({exc})") from exc
    if parts.scheme not in STREAM_SCHEMES:
        raise CameraFieldError(field_name, "must start with rtsp:// or rtsps://")
    if not parts.hostname:
        raise CameraFieldError(field_name, "has no host")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc += f":{port}"
    clean = parts._replace(netloc=netloc).geturl()
    return clean, parts.username or None, parts.password or None


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """The URL ffmpeg connects to; never shown or logged."""
    if not username:
        return url
    from urllib.parse import quote

    parts = urlsplit(url)
    auth = quote(username, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return parts._replace(netloc=f"{auth}@{parts.netloc}").geturl()


def _check_range(name: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not (low <= value <= high):
        raise CameraFieldError(name, f"must be between {low:g} and {high:g}")
