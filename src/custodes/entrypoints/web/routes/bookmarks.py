"""Bookmarks on a camera's timeline over HTTP: /bookmarks (list, search, add) and
/bookmarks/{id} (delete, the author's own).

Whoever may read the cameras' timelines (the permission cameras-read) reads and adds
bookmarks; a camera that does not exist is a 404, as on /cameras. A bookmark names an instant
and never opens footage: playing it still needs a grant (routes/recordings.py /media).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from custodes.clock import iso
from custodes.domain.bookmarks import NOTE_MAX
from custodes.entrypoints.web.deps import BodyId, CtxDep, PathId, QueryId, field_error
from custodes.entrypoints.web.permissions import CameraReader
from custodes.entrypoints.web.times import LangDep, instant
from custodes.services import bookmarks as svc

router = APIRouter(prefix="/bookmarks", tags=["bookmarks"])
SEARCH_MAX = 200  # characters of a search


class BookmarkIn(BaseModel):
    camera_id: BodyId
    at: AwareDatetime = Field(description="the instant marked, ISO 8601 with its zone")
    note: str = Field(max_length=NOTE_MAX, description="why: required")


class BookmarkOut(BaseModel):
    id: int
    camera_id: int
    camera: str
    at: str
    at_us: int
    note: str
    author: str
    created: str
    mine: bool  # the session's own: it may delete it


def _out(b: svc.Bookmark, account_id: int) -> BookmarkOut:
    return BookmarkOut(
        id=b.id,
        camera_id=b.camera_id,
        camera=b.camera,
        at=b.at,
        at_us=b.at_us,
        note=b.note,
        author=b.author,
        created=iso(b.created_us),
        mine=b.author_account_id == account_id,
    )


@router.get("", response_model=list[BookmarkOut])
def list_bookmarks(
    session: CameraReader,
    ctx: CtxDep,
    lang: LangDep,
    camera_id: QueryId = None,
    q: Annotated[str | None, Query(max_length=SEARCH_MAX, description="words in the note")] = None,
    start: Annotated[
        datetime | None, Query(alias="from", description="ISO 8601; UTC if no zone")
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="ISO 8601; UTC if no zone")
    ] = None,
) -> list[BookmarkOut]:
    """Bookmarks newest first (at most 500): of one camera or all, whose note holds every
    word of `q`, with from <= instant < to."""
    a = instant(start, location="query", name="from", lang=lang) if start else None
    b = instant(end, location="query", name="to", lang=lang) if end else None
    rows = svc.list_bookmarks(
        ctx,
        organisation_id=session.organisation_id,
        camera_id=camera_id,
        words=svc.words_of(q),
        from_us=a,
        to_us=b,
    )
    return [_out(r, session.account_id) for r in rows]


@router.post("", response_model=BookmarkOut, status_code=status.HTTP_201_CREATED)
def add_bookmark(
    body: BookmarkIn, session: CameraReader, ctx: CtxDep, lang: LangDep
) -> BookmarkOut:
    """A bookmark at an instant of a camera's time (not in the future), with a note; a
    ledger entry."""
    at_us = instant(body.at, location="body", name="at", lang=lang)
    try:
        made = svc.add_bookmark(
            ctx,
            account_id=session.account_id,
            username=session.username,
            camera_id=body.camera_id,
            at_us=at_us,
            note=body.note,
        )
    except svc.Invalid as exc:
        raise field_error("body", exc.field, exc.message) from None
    except svc.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _out(made, session.account_id)


@router.delete("/{bookmark_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_bookmark(bookmark_id: PathId, session: CameraReader, ctx: CtxDep) -> None:
    """Delete one's own bookmark (another's: 403); a ledger entry keeps what it said."""
    try:
        svc.delete_bookmark(
            ctx, account_id=session.account_id, username=session.username, bookmark_id=bookmark_id
        )
    except svc.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except svc.NotAllowed as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
