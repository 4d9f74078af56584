"""What every `custodes` command module shares: options, consoles, opening the context."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from custodes.paths import DATA_ENV, resolve_data_dir
from custodes.services.context import Context, NotInitialised, open_context

out = Console()
err = Console(stderr=True)

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", envvar=DATA_ENV, help="Data directory.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print the error (its text as text: a camera named "[/red]" is not markup) and exit."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


def context(data: Path | None) -> Context:
    try:
        return open_context(resolve_data_dir(data))
    except NotInitialised as exc:
        raise fail(str(exc)) from None
