"""The handles a use case needs: data directory, database engine, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from custodes.adapters.db.engine import make_engine
from custodes.adapters.db.migrate import upgrade
from custodes.adapters.keys import CredentialBox
from custodes.clock import now_us
from custodes.paths import DataDir


class NotInitialised(RuntimeError):
    """The data directory has not been set up with `custodes init`."""


@dataclass
class Context:
    data: DataDir
    engine: Engine
    # µs since the epoch, UTC; tests replace it to move time (session expiry, retention)
    clock: Callable[[], int] = field(default=now_us)

    @property
    def credentials(self) -> CredentialBox:
        return CredentialBox(self.data.secret_key)


def open_context(data: DataDir, *, migrate: bool = True) -> Context:
    if not data.secret_key.exists():
        raise NotInitialised(
            f"{data.root} is not a Custodes data directory: run `custodes init --data {data.root}`"
        )
    engine = make_engine(data.database_url())
    if migrate:
        upgrade(engine)
    return Context(data, engine)
