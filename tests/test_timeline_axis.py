"""static/timeline-axis.js, the scale both timelines draw (camera.js, sync-playback.js): its
ticks fall on round times of the *site's* clock, run under Node (Debian's nodejs, from
debian-packages.txt) against the real module and app.js, as test_bounds runs app.js."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

STATIC = Path(__file__).parents[1] / "src" / "custodes" / "entrypoints" / "web" / "static"
HOUR_MS = 3600_000


def _ticks(tmp_path: Path, zone: str, from_ms: int, to_ms: int) -> list[int]:
    node = shutil.which("node")
    assert node is not None, "node is missing: `make setup` installs Debian's nodejs"
    runner = tmp_path / "run.mjs"
    runner.write_text(
        textwrap.dedent(
            f"""
            globalThis.document = {{
              getElementById: (id) => (id === "strings" ? {{ textContent: "{{}}" }} : null),
              body: {{ dataset: {{ timezone: {json.dumps(zone)} }} }},
              documentElement: {{ lang: "en" }},
              querySelectorAll: () => [],
              cookie: "",
            }};
            const axis = await import({json.dumps((STATIC / "timeline-axis.js").as_uri())});
            console.log(JSON.stringify(axis.ticks({from_ms}, {to_ms})));
            """
        )
    )
    out = subprocess.run([node, str(runner)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kolkata", "America/St_Johns"])
def test_hour_ticks_fall_on_whole_hours_of_the_sites_clock(tmp_path: Path, zone: str) -> None:
    # Kolkata (+05:30) and St John's (−03:30): whole hours there are half hours in UTC
    start = datetime(2026, 12, 1, 8, 17, tzinfo=UTC)
    ticks = _ticks(tmp_path, zone, _ms(start), _ms(start + timedelta(hours=6)))
    assert len(ticks) == 6  # one an hour: the smallest step with at most 8 in view
    for ms in ticks:
        local = datetime.fromtimestamp(ms / 1000, ZoneInfo(zone))
        assert (local.minute, local.second) == (0, 0), local
    assert all(b - a == HOUR_MS for a, b in itertools.pairwise(ticks))


def test_a_day_in_view_stays_on_round_hours_across_a_clock_change(tmp_path: Path) -> None:
    """25 Oct 2026 in Berlin: 03:00 CEST becomes 02:00 CET. Ticks counted in real time from
    the offset at the view's start fell on 01:00, 04:00 … after it."""
    zone = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 10, 24, 20, 30, tzinfo=zone).astimezone(UTC)
    end = start + timedelta(hours=25)  # 25 h in view: one tick every 6 h
    ticks = _ticks(tmp_path, "Europe/Berlin", _ms(start), _ms(end))
    local = [datetime.fromtimestamp(ms / 1000, zone) for ms in ticks]
    assert [(t.day, t.hour, t.minute) for t in local] == [
        (25, 0, 0),
        (25, 6, 0),
        (25, 12, 0),
        (25, 18, 0),
    ]
    assert all(_ms(start) <= ms <= _ms(end) for ms in ticks)


def test_a_minute_step_keeps_its_ticks_through_a_repeated_hour(tmp_path: Path) -> None:
    """The hour from 02:00 to 03:00 CET on 25 Oct 2026 is shown twice; ten minutes of each
    have their ticks, evenly spaced in real time."""
    start = datetime(2026, 10, 25, 0, 55, tzinfo=UTC)  # 02:55 CEST, just before the change
    ticks = _ticks(tmp_path, "Europe/Berlin", _ms(start), _ms(start + timedelta(minutes=10)))
    assert len(ticks) >= 5
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1, steps
