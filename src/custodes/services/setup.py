"""`custodes init`: data directory, database, keys and the first admin account.

The data directory is its owner's alone (0700, files 0600: see `custodes.paths`); one made
before, too open, is tightened, and the answer lists what changed."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import insert, select

from custodes.adapters.db import schema
from custodes.adapters.db.engine import make_engine
from custodes.adapters.db.migrate import upgrade
from custodes.adapters.keys import ensure_secret_key, ensure_signing_key
from custodes.adapters.tls import Certificate, check_name
from custodes.clock import now_us
from custodes.paths import DataDir, tighten, write_privately
from custodes.services import tls as tls_service
from custodes.services.context import Context

JURISDICTIONS = ("jilin", "liaoning", "chongqing", "shenzhen")
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class InitResult:
    context: Context
    created: bool
    admin_password: str | None  # only when the account was created now; shown once
    jurisdiction: str
    # paths found readable by other local users and tightened (or that could not be)
    tightened: tuple[str, ...] = ()
    certificate: Certificate | None = None  # the web server's, when made now


class JurisdictionConflict(ValueError):
    pass


class JurisdictionRequired(ValueError):
    """A new installation must name its jurisdiction: its floors and articles differ (a
    Shenzhen unit keeps 30 days, a Jilin unit 15), so none is assumed."""


def initialise(
    data: DataDir,
    jurisdiction: str | None = None,
    *,
    tls_names: Sequence[str] = (),
    admin_one_time: bool = True,
) -> InitResult:
    """Idempotent: a second call changes nothing and reveals no password. A new installation
    needs `jurisdiction`; an existing one keeps its own (None) and refuses another. The web
    server's TLS certificate is made for this machine's names and `tls_names` when there is
    none. The first administrator's password is generated and, like every password someone
    else chose, works once: its first log-in sets the administrator's own (docs/DUTIES.md).
    `admin_one_time=False` only for the demo, which shows its password at every start."""
    if jurisdiction is not None and jurisdiction not in JURISDICTIONS:
        raise ValueError(f"jurisdiction: must be one of {', '.join(JURISDICTIONS)}")
    names = [check_name(n) for n in tls_names]  # refused before anything is made
    write_privately()  # the database, keys and directories made below are the owner's alone
    for d in (data.root, data.archive, data.spool, data.quarantine, data.logs):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    tightened = tuple(tighten(data))  # a directory made before, too open
    created_key = ensure_signing_key(data.signing_key)
    ensure_secret_key(data.secret_key)
    engine = make_engine(data.database_url())
    upgrade(engine)
    password = None
    with engine.begin() as conn:
        current = conn.execute(
            select(schema.settings.c.value).where(schema.settings.c.key == "jurisdiction")
        ).scalar_one_or_none()
        if current is None:
            if jurisdiction is None:
                raise JurisdictionRequired(
                    "jurisdiction: a new installation must name its jurisdiction, one of "
                    f"{', '.join(JURISDICTIONS)} (e.g. --jurisdiction shenzhen): retention "
                    "floors and the articles cited differ between them"
                )
            current = jurisdiction
            conn.execute(insert(schema.settings).values(key="jurisdiction", value=current))
        elif jurisdiction is not None and jurisdiction != current:
            raise JurisdictionConflict(
                f"jurisdiction: this installation is already set to {current!r}; "
                "changing it is a recorded setting change, not a re-init"
            )
        has_admin = conn.execute(
            select(schema.accounts.c.id).where(schema.accounts.c.username == ADMIN_USERNAME)
        ).first()
        if has_admin is None:
            password = secrets.token_urlsafe(12)
            conn.execute(
                insert(schema.accounts).values(
                    username=ADMIN_USERNAME,
                    password_hash=PasswordHasher().hash(password),
                    password_one_time=admin_one_time,
                    role="system_admin",
                    created_us=now_us(),
                    organisation_id=1,  # the operating unit (made by migration 0005)
                )
            )
    certificate = tls_service.ensure(data, names)  # the ledger names it when first served
    return InitResult(Context(data, engine), created_key, password, current, tightened, certificate)
