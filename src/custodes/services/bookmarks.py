"""Bookmarks on a camera's timeline (domain/bookmarks.py): add, delete, list and search.

A bookmark is made and deleted each with a ledger entry in the same transaction (who, which
camera, which instant, the note), so that the ledger keeps what a deleted bookmark said. The
row itself is a working note, not evidence: its author may delete it. Who may see a camera's
timeline is the entrypoint's check (the permission to read cameras); here: the camera exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.clock import iso
from custodes.domain.bookmarks import (
    BadBookmark,
    check_instant,
    clean_note,
    may_delete,
    without_control,
)
from custodes.services import ledger
from custodes.services.context import Context

A = schema.accounts
B = schema.bookmarks
C = schema.cameras
LIST_MAX = 500  # rows of one list (the page says when more matched: narrow the filters)
WORDS_MAX = 8  # words of one search


class Invalid(ValueError):
    """An input breaks a bookmark's rule (HTTP 422 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(LookupError):
    """No such bookmark, or no such camera (HTTP 404)."""


class NotAllowed(PermissionError):
    """Someone else's bookmark (HTTP 403)."""


@dataclass(frozen=True)
class Bookmark:
    id: int
    camera_id: int
    camera: str  # the camera's name
    at_us: int
    note: str
    author: str  # user name
    author_account_id: int
    created_us: int

    @property
    def at(self) -> str:
        return iso(self.at_us)


def _camera_name(conn: Connection, camera_id: int) -> str:
    name = conn.execute(select(C.c.name).where(C.c.id == camera_id)).scalar_one_or_none()
    if name is None:
        raise NotFound(f"no camera {camera_id}")
    return str(name)


def add_bookmark(
    ctx: Context, *, account_id: int, username: str, camera_id: int, at_us: int, note: str
) -> Bookmark:
    """A bookmark on `camera_id` at `at_us`, by the account; its ledger entry with it."""
    now = ctx.clock()
    try:
        kept = clean_note(note)
        check_instant(at_us, now)
    except BadBookmark as exc:
        raise Invalid(exc.field, exc.message) from None
    with ctx.engine.begin() as conn:
        write_first(conn)
        camera = _camera_name(conn, camera_id)
        bookmark_id = int(
            conn.execute(
                insert(B)
                .values(
                    camera_id=camera_id,
                    at_us=at_us,
                    note=kept,
                    author_account_id=account_id,
                    author=username,
                    created_us=now,
                )
                .returning(B.c.id)
            ).scalar_one()
        )
        ledger.record(
            conn,
            actor=ledger.account_actor(username),
            action=ledger.BOOKMARK_ADDED,
            object=f"camera:{camera_id}",
            details=_details(bookmark_id, camera_id, at_us, kept),
            time_us=now,
        )
    return Bookmark(bookmark_id, camera_id, camera, at_us, kept, username, account_id, now)


def _details(bookmark_id: int, camera_id: int, at_us: int, note: str) -> dict[str, object]:
    return {
        "bookmark": bookmark_id,
        "camera": camera_id,
        "at_us": at_us,
        "at": iso(at_us),
        "note": note,
    }


def delete_bookmark(ctx: Context, *, account_id: int, username: str, bookmark_id: int) -> None:
    """Delete the account's own bookmark; the ledger entry keeps what it said."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = conn.execute(select(B).where(B.c.id == bookmark_id)).first()
        if row is None:
            raise NotFound("no such bookmark")
        if not may_delete(int(row.author_account_id), account_id):
            raise NotAllowed("only its author deletes a bookmark")
        conn.execute(delete(B).where(B.c.id == bookmark_id))
        ledger.record(
            conn,
            actor=ledger.account_actor(username),
            action=ledger.BOOKMARK_DELETED,
            object=f"camera:{row.camera_id}",
            details=_details(bookmark_id, int(row.camera_id), int(row.at_us), str(row.note)),
            time_us=now,
        )


def words_of(text: str | None) -> list[str]:
    """A search's words (at most WORDS_MAX, each of them in the note: an AND); control
    characters dropped (no note holds one, and PostgreSQL takes no NUL in a parameter)."""
    return without_control(text or "").split()[:WORDS_MAX]


def list_bookmarks(
    ctx: Context,
    *,
    organisation_id: int,
    camera_id: int | None = None,
    words: Sequence[str] = (),
    from_us: int | None = None,
    to_us: int | None = None,
    limit: int = LIST_MAX,
) -> list[Bookmark]:
    """Bookmarks by instant, newest first, made by the accounts of `organisation_id` (the
    reader's: a note of the operating unit's staff is not an outside officer's to read, nor
    one officer's organisation's another's): of one camera or all, whose note holds every word
    (case aside), with `from_us` <= instant < `to_us`; at most `limit`."""
    query = (
        select(B, C.c.name.label("camera"))
        .select_from(B.join(C, C.c.id == B.c.camera_id).join(A, A.c.id == B.c.author_account_id))
        .where(A.c.organisation_id == organisation_id)
    )
    if camera_id is not None:
        query = query.where(B.c.camera_id == camera_id)
    for word in words:
        query = query.where(func.lower(B.c.note).contains(word.lower(), autoescape=True))
    if from_us is not None:
        query = query.where(B.c.at_us >= from_us)
    if to_us is not None:
        query = query.where(B.c.at_us < to_us)
    query = query.order_by(B.c.at_us.desc(), B.c.id.desc()).limit(limit)
    with ctx.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Bookmark(
            int(r.id),
            int(r.camera_id),
            str(r.camera),
            int(r.at_us),
            str(r.note),
            str(r.author),
            int(r.author_account_id),
            int(r.created_us),
        )
        for r in rows
    ]
