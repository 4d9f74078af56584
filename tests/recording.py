"""Helpers for tests that record real streams: simulated cameras, waiting, checking the archive."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg import segment_file
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.domain.camera import CameraSpec
from custodes.recorder.supervisor import Supervisor
from custodes.services import cameras as svc
from custodes.services.context import Context
from custodes.services.verify import verify

from .media import ffprobe_duration


def add_cameras(ctx: Context, sim: Simulator, names: list[str]) -> list[int]:
    return [svc.add_camera(ctx, CameraSpec(name=n, url=sim.url(n), place="test")).id for n in names]


def wait_for(what: str, check: Callable[[], bool], timeout: float, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def segment_rows(ctx: Context, camera_id: int | None = None) -> list[Any]:
    s = schema.segments
    query = select(s).order_by(s.c.camera_id, s.c.seq)
    if camera_id is not None:
        query = query.where(s.c.camera_id == camera_id)
    with ctx.engine.connect() as conn:
        return list(conn.execute(query).all())


def gap_rows(ctx: Context, camera_id: int) -> list[Any]:
    g = schema.gaps
    with ctx.engine.connect() as conn:
        return list(
            conn.execute(select(g).where(g.c.camera_id == camera_id).order_by(g.c.start_us)).all()
        )


def count_segments(ctx: Context, camera_id: int) -> int:
    return len(segment_rows(ctx, camera_id))


@contextmanager
def recording(ctx: Context, **kw: Any) -> Iterator[Supervisor]:
    sup = Supervisor(ctx, **kw)
    sup.start()
    try:
        yield sup
    except BaseException:
        dump_logs(ctx)
        raise
    finally:
        sup.stop()


def dump_logs(ctx: Context) -> None:
    """On a failure, show what ffmpeg said (pytest prints captured output of failed tests)."""
    for log in sorted(ctx.data.logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        print(f"===== {log.name} (last 40 lines) =====")
        print("\n".join(lines[-40:]))


def assert_archive_agrees(ctx: Context, *, probe: bool = True) -> None:
    """Every index row has its file with its digest; every archived file has its row; every
    file is whole MP4 boxes (a truncated file is never indexed as if it were whole)."""
    rows = segment_rows(ctx)
    indexed = {r.path for r in rows}
    on_disk = {str(p.relative_to(ctx.data.archive)) for p in ctx.data.archive.rglob("*.mp4")}
    assert indexed == on_disk, f"index/archive differ: {indexed ^ on_disk}"
    for r in rows:
        f = ctx.data.archive / r.path
        assert hashlib.sha256(f.read_bytes()).hexdigest() == r.sha256, r.path
        assert f.stat().st_size == r.bytes
        whole = segment_file.scan(f)
        assert whole.complete, (r.path, whole)
        if probe:
            assert abs(ffprobe_duration(f) - r.duration_us / 1e6) < 0.25, r.path
    # and the chain, the signed checkpoints and the checkpoint files agree with both
    report = verify(ctx)
    assert not report.failed, report.to_json()


def assert_contiguous(rows: list[Any], tolerance_s: float = 0.5) -> None:
    for a, b in itertools.pairwise(rows):
        assert b.seq == a.seq + 1
        assert abs(b.start_us - a.end_us) < tolerance_s * 1e6, (a.seq, b.start_us - a.end_us)


def spool_media(ctx: Context) -> list[Path]:
    return sorted(ctx.data.spool.rglob("*.mp4"))


__all__ = ["Mount", "Simulator"]
