"""`custodes camera …`: the camera registry from the command line."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from custodes.domain.camera import CameraFieldError, CameraSpec
from custodes.entrypoints.cli_common import DataOpt, JsonOpt, add_text_row, context, err, fail, out
from custodes.entrypoints.cli_i18n import _, lead, sentence
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.services import cameras as camera_service

# A field of `camera show` by its label (msgids); English shows the JSON key itself.
FIELD_LABELS = {
    "id": "ID",
    "name": "Name",
    "url": "Main stream URL",
    "sub_url": "Sub stream URL",
    "credentials": "Credentials",
    "site": "Site",
    "place": "Place",
    "address": "Address",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "direction_deg": "Direction",
    "installed_on": "Installed on",
    "signage_posted": "Signage posted",
    "retired": "Retired",
    "created": "Created",
    "stream": "Stream",
    "has_sub_stream": "Sub stream",
}
camera_app = typer.Typer(help="The camera registry.", no_args_is_help=True)
_fail = fail
_context = context


def _spec_from_options(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


@camera_app.command("add")
def camera_add(
    name: str,
    url: Annotated[str, typer.Option("--url", help="Main stream, rtsp://…")],
    place: Annotated[str, typer.Option("--place", help="Place category.")],
    sub_url: Annotated[str | None, typer.Option("--sub-url")] = None,
    site: Annotated[str | None, typer.Option("--site")] = None,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password: Annotated[str | None, typer.Option("--password")] = None,
    address: Annotated[str | None, typer.Option("--address")] = None,
    latitude: Annotated[float | None, typer.Option("--latitude")] = None,
    longitude: Annotated[float | None, typer.Option("--longitude")] = None,
    direction: Annotated[
        float | None, typer.Option("--direction", help="Degrees from north.")
    ] = None,
    installed_on: Annotated[str | None, typer.Option("--installed-on", help="YYYY-MM-DD")] = None,
    signage: Annotated[bool, typer.Option("--signage/--no-signage")] = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a camera. Credentials may be given in the URL; they are stored encrypted."""
    ctx = _context(data)
    try:
        spec = CameraSpec(
            name=name,
            url=url,
            place=place,
            sub_url=sub_url,
            username=username,
            password=password,
            site=site,
            address=address,
            latitude=latitude,
            longitude=longitude,
            direction_deg=direction,
            installed_on=_date("installed_on", installed_on),
            signage_posted=signage,
        )
        view = camera_service.add_camera(ctx, spec, actor=cli_actor())
    except CameraFieldError as exc:
        raise _fail(_field_error(exc)) from None
    _print_camera(view, as_json)


@camera_app.command("list")
def camera_list(
    data: DataOpt = None,
    as_json: JsonOpt = False,
    all_: Annotated[bool, typer.Option("--all", help="Include retired cameras.")] = False,
) -> None:
    """List cameras."""
    views = camera_service.list_cameras(_context(data), include_retired=all_)
    if as_json:
        out.print_json(json.dumps([v.to_json() for v in views], ensure_ascii=False))
        return
    headings = ("id", "name", "place", "site", "url", "credentials", "retired")
    table = Table(*(_(h) for h in headings))
    for v in views:
        add_text_row(
            table,
            str(v.id),
            v.name,
            v.place,
            v.site or "",
            v.url or "",
            _("set") if v.has_credentials else "",
            v.retired or "",
        )
    out.print(table)


@camera_app.command("show")
def camera_show(ref: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Show one camera (by id or name)."""
    try:
        view = camera_service.find_camera(_context(data), ref)
    except camera_service.CameraNotFound:
        raise _fail(_not_found(ref)) from None
    _print_camera(view, as_json)


@camera_app.command("update")
def camera_update(
    ref: str,
    name: Annotated[str | None, typer.Option("--name")] = None,
    url: Annotated[str | None, typer.Option("--url")] = None,
    place: Annotated[str | None, typer.Option("--place")] = None,
    sub_url: Annotated[str | None, typer.Option("--sub-url")] = None,
    site: Annotated[str | None, typer.Option("--site")] = None,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password: Annotated[str | None, typer.Option("--password")] = None,
    address: Annotated[str | None, typer.Option("--address")] = None,
    latitude: Annotated[float | None, typer.Option("--latitude")] = None,
    longitude: Annotated[float | None, typer.Option("--longitude")] = None,
    direction: Annotated[float | None, typer.Option("--direction")] = None,
    installed_on: Annotated[str | None, typer.Option("--installed-on")] = None,
    signage: Annotated[bool | None, typer.Option("--signage/--no-signage")] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change fields of a camera; only the options given change."""
    ctx = _context(data)
    try:
        changes = _spec_from_options(
            name=name,
            url=url,
            place=place,
            sub_url=sub_url,
            site=site,
            username=username,
            password=password,
            address=address,
            latitude=latitude,
            longitude=longitude,
            direction_deg=direction,
            installed_on=_date("installed_on", installed_on),
            signage_posted=signage,
        )
        view = camera_service.update_camera(ctx, ref, changes, actor=cli_actor())
    except CameraFieldError as exc:
        raise _fail(_field_error(exc)) from None
    except camera_service.CameraNotFound:
        raise _fail(_not_found(ref)) from None
    _print_camera(view, as_json)


@camera_app.command("retire")
def camera_retire(ref: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Stop recording a camera; its registry record and recordings are kept."""
    try:
        view = camera_service.retire_camera(_context(data), ref, actor=cli_actor())
    except camera_service.CameraNotFound:
        raise _fail(_not_found(ref)) from None
    _print_camera(view, as_json)


def _not_found(ref: str) -> str:
    return _("camera: no camera %(ref)s") % {"ref": repr(ref[:24])}


def _field_error(exc: CameraFieldError) -> str:
    """The field by its option's name (a script's word), what is wrong in words."""
    return f"{exc.field}: {sentence(exc.message)}"


def _date(field: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CameraFieldError(field, "use YYYY-MM-DD") from None


def _print_camera(view: camera_service.CameraView, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(view.to_json(), ensure_ascii=False))
        return
    for key, value in view.to_json().items():
        if key == "credentials_dropped":
            if value:
                note = sentence(camera_service.CREDENTIALS_DROPPED)
                err.print(f"[yellow]{lead(_('note:'))}[/]{escape(note)}")
            continue
        if key == "has_credentials":
            key, value = "credentials", _("set (hidden)") if value else _("none")
        elif key == "stream":
            value = _stream_text(view.stream)
        elif isinstance(value, bool):
            value = _("True") if value else _("False")
        label = _field_label(key)
        shown = f"{' ' * max(0, 15 - _cells(label))}{label}: {'' if value is None else value}"
        out.print(escape(shown), highlight=False)


def _field_label(key: str) -> str:
    """A camera field's label in words; English keeps the JSON key a script knows."""
    label = _(FIELD_LABELS.get(key, key))
    return key if label == FIELD_LABELS.get(key) else label


def _cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def _stream_text(s: camera_service.StreamFacts | None) -> str:
    if s is None:
        return _("nothing recorded yet")
    parts = [s.video_codec or _("video codec unknown")]
    if s.width and s.height:
        parts.append(f"{s.width}×{s.height}")
    if s.audio_codec:
        parts.append(_("audio %(codec)s") % {"codec": s.audio_codec})
    elif s.audio_dropped:
        parts.append(
            _("audio %(codec)s not recorded (MP4 cannot carry it)") % {"codec": s.audio_dropped}
        )
    else:
        parts.append(_("no audio"))
    return _(", ").join(parts)
