"""What every `custodes` command module shares: options, consoles, opening the context."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from custodes.entrypoints.cli_i18n import _, lead, sentence
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
