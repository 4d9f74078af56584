"""A small sealed archive of real segments for integrity and retention tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.domain.camera import CameraSpec
from custodes.domain.chain import Cadence
from custodes.domain.timing import RunClock
from custodes.services import cameras as svc
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed

from .media import make_segments

T0 = 1_795_000_000_000_000  # 2026-11-18T11:06:40Z: for tests on a test clock (see recent.py)
SEGMENTS = 12
CADENCE = Cadence(segments=4, seconds=3600)  # checkpoints at seq 0, 4, 8 (and 11 at stop)
S = schema.segments


@dataclass
class Archive:
    ctx: Context
    cam: int
    root: Path

    def path(self, seq: int) -> Path:
        with self.ctx.engine.connect() as conn:
            rel = conn.execute(
                select(S.c.path).where(S.c.camera_id == self.cam, S.c.seq == seq)
            ).scalar_one()
        return self.root / str(rel)

    def seqs(self) -> list[int]:
        with self.ctx.engine.connect() as conn:
            return [
                int(r[0])
                for r in conn.execute(
                    select(S.c.seq).where(S.c.camera_id == self.cam).order_by(S.c.seq)
                )
            ]

    def end_us(self, seq: int) -> int:
        with self.ctx.engine.connect() as conn:
            return int(
                conn.execute(
                    select(S.c.end_us).where(S.c.camera_id == self.cam, S.c.seq == seq)
                ).scalar_one()
            )


def seal_archive(ctx: Context, name: str = "gate", t0: int = T0) -> Archive:
    """SEGMENTS real 1-s segments received from `t0` on, checkpoints at 0, 4, 8 and 11.

    What reads the real clock (the command line, the housekeeper) needs a `t0` of recent.T0:
    footage at the literal T0 is past every retention floor of 15 days by now."""
    cam = svc.add_camera(ctx, CameraSpec(name=name, url="rtsp://10.0.0.1/s", place="p")).id
    run_dir = ctx.data.camera_spool(cam) / "run1"
    clock = RunClock()
    sealer = Sealer(ctx.engine, ctx.data, cadence=CADENCE)
    for file, a, b in make_segments(run_dir, count=SEGMENTS, seconds=1):
        timing = clock.place(a, b, t0 + int(b * 1e6))
        sealer.seal(SegmentClosed(cam, "run1", run_dir / file, timing, StreamInfo()))
    assert sealer.checkpoint_now(cam) == SEGMENTS - 1
    return Archive(ctx, cam, ctx.data.archive)
