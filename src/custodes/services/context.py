"""The handles a use case needs: data directory and database engine."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from custodes.adapters.db.engine import make_engine
from custodes.adapters.db.migrate import upgrade
from custodes.adapters.keys import CredentialBox
from custodes.paths import DataDir


class NotInitialised(RuntimeError):
    """The data directory has not been set up with `custodes init`."""


@dataclass
class Context:
    data: DataDir
    engine: Engine

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
