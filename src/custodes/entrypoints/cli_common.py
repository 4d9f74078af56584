"""What every `custodes` command module shares: options, consoles, opening the context."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from custodes.clock import iso
from custodes.domain import instants
from custodes.entrypoints.cli_i18n import LANG, _, lead, sentence
from custodes.entrypoints.web import i18n, wording
from custodes.paths import DATA_ENV, resolve_data_dir
from custodes.services.context import Context, NotInitialised, open_context


def console(**options: object) -> Console:
    """A console for our output: markup is ours, but `:cd:` in stored text stays `:cd:`.

    Rich turns `:name:` into an emoji by default, so a TLS fingerprint `…:CD:EF…` or a
    camera named `:warning:` would print altered; every console we make has it off.
    """
    return Console(emoji=False, **options)  # type: ignore[arg-type]


def add_text_row(table: Table, *cells: str) -> None:
    """A table row of stored text as it is: "[red]" in a name is not markup, ":cd:" no emoji."""
    table.add_row(*(Text(cell) for cell in cells))


# Characters that act on a terminal or on how a line reads instead of printing: controls (an
# escape sequence, a line break, a carriage return), formats (a bidi override, a zero-width
# joiner), separators of lines and paragraphs, surrogates.
_INERT = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


def inert(text: str) -> str:
    """Text read from outside (a bundle's manifest, a file's name in it) as it may be printed:
    each character of _INERT as its escape (\\x1b, \\u202e). A forged bundle wrote a green
    "verified" line, an OSC title and a carriage return into the recipient's terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in _INERT else ch
        for ch in text
    )


# the help of the options that take a time (msgids, locale/*.po)
FROM_HELP = "Start: ISO 8601; without a zone, the site's time."
TO_HELP = "End: ISO 8601; without a zone, the site's time."
SINCE_HELP = "From (inclusive): ISO 8601; without a zone, the site's time."
UNTIL_HELP = "To (exclusive): ISO 8601; without a zone, the site's time."


def site_when(us: int | None, zone: str) -> str:
    """A stored time as the site's people read it: its zone, to the second; "" for none."""
    return "" if us is None else wording.site_time(us, zone)


def local_when(us: int) -> str:
    """A time read from a bundle, for its recipient, who knows no site: this machine's
    zone, its offset named ("2026-11-18 20:06:40 +08:00"); total (else UTC ISO, clock.iso)."""
    try:
        moment = datetime.fromtimestamp(us / 1_000_000, UTC).astimezone()
    except (ValueError, OverflowError, OSError):
        return iso(us)
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def parse_site_time(value: str, option: str, zone: str) -> int:
    """µs since the epoch of a time typed as ISO 8601: without a zone, the site's (`zone`),
    as the web's pickers read it; in the one range of every time from outside
    (domain/instants.py); else an error in the locale's language, exit 2."""
    try:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise instants.BadInstant("format", option) from None
        if moment.tzinfo is None:
            try:
                moment = moment.replace(tzinfo=ZoneInfo(zone))
            except (ZoneInfoNotFoundError, ValueError):  # a stored zone no database knows:
                raise instants.BadInstant("zone", option) from None  # the zone must be typed
        return instants.from_datetime(moment, option)
    except instants.BadInstant as exc:
        raise fail(f"{option}: {i18n.bad_instant(exc, LANG)}: {value!r}") from None


out = console()
err = console(stderr=True)

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", envvar=DATA_ENV, help="Data directory.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print the error (its text as text: a camera named "[/red]" is not markup) and exit.
    On one line however long: Rich wrapped it at the terminal's width (80 columns when it is no
    terminal), which cut a path in two, mid-name, for whoever copies it or a script that
    reads it; the terminal wraps what it shows by itself. A service's English message is said
    in the command line's language as the web says it (cli_i18n.py `sentence`)."""
    text = f"[red]{lead(_('error:'))}[/red]{escape(sentence(message))}"
    err.print(text, highlight=False, soft_wrap=True)
    return typer.Exit(code)


NOT_INITIALISED = (  # msgid: services/context.py's words, for its one parameter
    "%(root)s is not a Custodes data directory: run `custodes init --data %(root)s`"
)


def context(data: Path | None) -> Context:
    dd = resolve_data_dir(data)
    try:
        return open_context(dd)
    except NotInitialised:
        raise fail(_(NOT_INITIALISED) % {"root": dd.root}) from None
