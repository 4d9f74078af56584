"""An export of footage recorded seconds ago, from a real stream (a simulated camera behind a
real RTSP server, real ffmpeg), while the recorder goes on: no checkpoint follows it yet (the
recorder signs one every 100 segments or 10 minutes), so the export signs the one that closes
it, and the bundle verifies strictly against the installation's published key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.domain import export_format as fmt
from custodes.services import checkpoints, exports, signing
from custodes.services.context import Context

from .bundles import SIGNER_UNKNOWN, assert_fabrication_fares_no_better, verify_cli
from .conftest import free_port
from .grant_setup import approved_grant
from .recording import add_cameras, assert_archive_agrees, count_segments, recording, wait_for

pytestmark = pytest.mark.slow
SEG = 2.0
MINUTE = 60_000_000


def test_footage_recorded_seconds_ago_exports_into_a_strictly_verifiable_bundle(
    ctx: Context, tmp_path: Path, clip_dir: Path
) -> None:
    clip = ensure_clip(clip_dir, "cam1", width=640, height=360)
    with Simulator([Mount("cam1", clip)], free_port()) as sim:
        (cam,) = add_cameras(ctx, sim, ["cam1"])
        with recording(ctx, segment_seconds=SEG):
            wait_for("4 segments", lambda: count_segments(ctx, cam) >= 4, 60)
            now = ctx.clock()
            setup = approved_grant(ctx, camera_ids=[cam], start_us=now - 10 * MINUTE, end_us=now)
            with ctx.engine.connect() as conn:
                before = checkpoints.newest(conn, cam)
            assert before is not None and before.seq == 0  # the camera's first segment only
            officer = setup.holders[0]
            result = exports.create_export(
                ctx,
                grant=exports.require_grant(
                    ctx,
                    grant_id=setup.grant.id,
                    account_id=officer.account_id,
                    username=officer.username,
                    camera_id=cam,
                    start_us=now - 10 * MINUTE,
                    end_us=now,
                ),
                account_id=officer.account_id,
                username=officer.username,
                camera_id=cam,
                start_us=now - 10 * MINUTE,
                end_us=now,
            )
            wait_for("2 more segments", lambda: count_segments(ctx, cam) >= result.segments + 3, 30)
    assert_archive_agrees(ctx, probe=False)  # the recorder went on past the export's checkpoint

    bundle = result.path
    manifest = fmt.decode((bundle / fmt.MANIFEST_FILE).read_bytes())
    exported = [s.seq for s in manifest.segments]
    assert exported == list(range(exported[0], exported[0] + len(exported))) and exported[-1] >= 2
    assert manifest.chain.unsigned_tail is None
    closing = manifest.chain.checkpoints[-1]
    assert closing.seq >= exported[-1] and closing.key_id == signing.load_signer(ctx.data).key_id
    assert [c.seq for c in manifest.chain.after] == list(range(exported[-1] + 1, closing.seq + 1))
    with ctx.engine.connect() as conn:
        details = json.loads(
            conn.execute(
                select(schema.ledger.c.details).where(
                    schema.ledger.c.object == f"export:{result.id}"
                )
            ).scalar_one()
        )
    assert (details["closing_checkpoint"], details["checkpoint_signed"]) == (closing.seq, True)

    key_file = ctx.data.archive / signing.PUBLIC_KEYS_FILE
    code, output = verify_cli(bundle, "--strict", "--key", str(key_file))
    assert code == 0, output
    assert "verified: every file, link, checkpoint and the signature agree" in output

    code, output = verify_cli(bundle)
    said = " ".join(output.split())
    assert code == SIGNER_UNKNOWN, output
    assert "SIGNER UNKNOWN" in said and "nothing proves who made this bundle" in said
    assert "archive/public-keys.jsonl" in said and "custodes keys export" in said
    assert f"run: custodes verify-export {bundle} --key FILE" in said
    report = json.loads(verify_cli(bundle, "--json")[1])
    assert (report["status"], report["signer"], report["ok"]) == (
        "signer-unknown",
        "unknown",
        False,
    )
    assert "custodes keys export" in report["advice"] and report["exit_status"] == SIGNER_UNKNOWN

    assert_fabrication_fares_no_better(bundle, key_file, tmp_path)
