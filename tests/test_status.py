"""`custodes status` as a person reads it: an 80-column terminal, the notes under the table,
what the database cannot say (a recorder not running, a full disk), and alarms that a person
acknowledges (CLI and API), each in the ledger."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import select
from typer.testing import CliRunner

from custodes.adapters import recorder_lock
from custodes.adapters.db import schema
from custodes.clock import now_us
from custodes.entrypoints.cli import app
from custodes.entrypoints.cli_common import console
from custodes.entrypoints.cli_status import render
from custodes.services import alarms, index
from custodes.services.context import Context
from custodes.services.status import CameraStatus, DiskStatus, SystemStatus

LONG = "connection refused: camera or RTSP server not listening " * 3


def _camera(i: int) -> CameraStatus:
    return CameraStatus(
        id=i,
        name=f"North gate entrance camera {i}",
        state="reconnecting",
        detail="audio (pcm_alaw) not recorded: MP4 cannot carry it without transcoding",
        segments=1_234_567,
        bytes=987_654_321_000,
        newest_end="2026-12-01T10:00:00.000Z",
        newest_age_s=75_000.0,
        gaps_24h=12,
        gap_seconds_24h=3_600.0,
        open_gap_since="2026-12-01T09:00:00.000Z",
        last_error=LONG,
        last_error_at="2026-12-01T09:00:00.000Z",
        video_codec="hevc",
        width=3840,
        height=2160,
        audio_codec="aac",
        salvaged_24h=2,
        quarantined_24h=1,
    )


def test_the_table_fits_80_columns_and_nothing_is_lost() -> None:
    system = SystemStatus(
        "read-only",
        [],
        recorder_running=False,
        disk=DiskStatus(10**9, 10**12, 512 * 2**20, False, None),
    )
    shown_on = console(width=80, record=True, color_system=None)
    for line in render([_camera(1), _camera(22)], system):
        shown_on.print(line)
    text = shown_on.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    rows = [line for line in text.splitlines() if "reconnecting" in line]
    assert len(rows) == 2, text  # one line per camera: no cell wrapped onto a second line
    assert "1,234,567" in rows[0] and "987.7GB" in rows[0] and "hevc 2160p+aac" in rows[0]
    assert rows[1].lstrip().startswith("22 ")
    # the long texts are not cut away: they have lines of their own under the table
    assert "connection refused" in text and "sealed short" in text and "not running" in text


def test_stored_text_is_printed_as_it_is_never_as_emoji_or_markup() -> None:
    # A TLS fingerprint "…:CD:EF…" once printed as "…💿EF…": Rich reads ":cd:" as an emoji
    camera = replace(
        _camera(3), name="gate :cd: [bold]x[/bold]", last_error="stream :warning: lost"
    )
    shown_on = console(width=200, record=True, color_system=None)
    for line in render([camera], SystemStatus("read-only", [], recorder_running=True)):
        shown_on.print(line)
    text = shown_on.export_text()
    assert "gate :cd: [bold]x[/bold]" in text and "stream :warning: lost" in text, text
    assert "\N{OPTICAL DISC}" not in text and "\N{WARNING SIGN}" not in text


def test_what_the_database_cannot_say_is_asked_of_the_host(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.cameras.insert().values(
                name="c", url="rtsp://h/x", place="p", created_us=1, updated_us=1
            )
        )
        index.set_state(conn, 1, "recording")
    res = CliRunner().invoke(app, ["status", "--json", "--data", str(ctx.data.root)])
    status = json.loads(res.output)
    # a recorder killed with -9 leaves "recording" behind: nobody holds the lock now
    assert status["recorder_running"] is False
    assert status["cameras"][0]["state"] == "stopped"


def test_a_state_an_earlier_recorder_left_is_not_shown_as_current(ctx: Context) -> None:
    """A recorder stopped while the disk was full could not write 'disk full' to a database
    on that disk: its 'recording' stays. The next recorder has recorded nothing yet, so the
    camera is 'starting' until this run writes a state of its own."""
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.cameras.insert().values(
                name="c", url="rtsp://h/x", place="p", created_us=1, updated_us=1
            )
        )
        index.set_state(conn, 1, "recording")
    lock = recorder_lock.acquire(ctx.data.root)  # a recorder starts (after the state)
    assert lock is not None
    try:
        data = ["--data", str(ctx.data.root)]
        status = json.loads(CliRunner().invoke(app, ["status", "--json", *data]).output)
        assert status["recorder_running"] is True
        assert status["cameras"][0]["state"] == "starting", status["cameras"][0]
        with ctx.engine.begin() as conn:  # this run's first segment
            index.set_state(conn, 1, "recording")
        status = json.loads(CliRunner().invoke(app, ["status", "--json", *data]).output)
        assert status["cameras"][0]["state"] == "recording"
    finally:
        recorder_lock.release(lock)


def test_a_footage_cut_alarm_ends_when_a_person_acknowledges_it(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.cameras.insert().values(
                name="c", url="rtsp://h/x", place="p", created_us=1, updated_us=1
            )
        )
        alarms.raise_footage_cut(conn, 1, "seq 3 open when recording stopped", now_us())
        alarms.raise_alarm(conn, alarms.INTEGRITY, "verification found 1 problem", now_us())
        ids = {a.kind: a.id for a in alarms.open_alarms(conn)}
    data = ["--data", str(ctx.data.root)]
    res = CliRunner().invoke(app, ["alarm", "ack", str(ids[alarms.INTEGRITY]), *data])
    assert res.exit_code == 2 and "clears by itself" in res.output
    res = CliRunner().invoke(app, ["alarm", "ack", str(ids[alarms.FOOTAGE_CUT]), *data])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["alarm", "ack", str(ids[alarms.FOOTAGE_CUT]), *data])
    assert res.exit_code == 2 and "no open alarm" in res.output
    with ctx.engine.connect() as conn:
        left = [a.kind for a in alarms.open_alarms(conn)]
        entry = conn.execute(
            select(schema.ledger.c.actor, schema.ledger.c.object).where(
                schema.ledger.c.action == "alarm-acknowledged"
            )
        ).one()
        acked = conn.execute(
            select(schema.alarms.c.acknowledged_by).where(
                schema.alarms.c.id == ids[alarms.FOOTAGE_CUT]
            )
        ).scalar_one()
    assert left == [alarms.INTEGRITY]
    assert entry.object == f"alarm:{ids[alarms.FOOTAGE_CUT]}" and entry.actor.startswith("cli:")
    assert acked == entry.actor


def test_stored_text_is_never_read_as_markup(ctx: Context) -> None:
    """ffmpeg's "[rtsp @ 0x1]" prefix, or a name like "[/red]", printed as it is, never
    swallowed or crashing the command."""
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.cameras.insert().values(
                name="gate [/red] :cd:", url="rtsp://h/x", place="p", created_us=1, updated_us=1
            )
        )
        conn.execute(
            schema.organisations.insert().values(
                name="[b]Bureau[/b] :cd:", kind="police", created_us=1
            )
        )
        index.set_state(conn, 1, "reconnecting", error="[rtsp @ 0x1] method DESCRIBE failed")
        alarms.raise_alarm(conn, alarms.INTEGRITY, "file cam00001/[/bold].mp4", now_us())
    data = ["--data", str(ctx.data.root)]
    for args in (["status"], ["camera", "list"], ["camera", "show", "1"], ["alarm", "list"]):
        res = CliRunner().invoke(app, [*args, *data], terminal_width=200)
        assert res.exit_code == 0, (args, res.output)
        assert "[/red]" in res.output or "[/bold]" in res.output or "[rtsp @" in res.output
    for args in (["camera", "list"], ["retention", "show"], ["retention", "plan"]):
        res = CliRunner().invoke(app, [*args, *data], terminal_width=200)
        assert "gate [/red] :cd:" in res.output, (args, res.output)  # no markup, no emoji
    res = CliRunner().invoke(app, ["account", "org-list", *data], terminal_width=200)
    assert "[b]Bureau[/b] :cd:" in res.output, res.output
