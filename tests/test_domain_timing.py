from __future__ import annotations

from custodes.domain.backoff import Backoff
from custodes.domain.timing import SLEW_US, STEP_US, RunClock


def test_first_segment_ends_at_its_close() -> None:
    clock = RunClock()
    t = clock.place(0.0, 6.0, closed_at_us=100_000_000)
    assert (t.start_us, t.end_us, t.duration_us, t.drift_us) == (
        94_000_000,
        100_000_000,
        6_000_000,
        0,
    )


def test_next_segment_starts_at_previous_close_and_keeps_drift() -> None:
    clock = RunClock()
    clock.place(0.0, 6.0, closed_at_us=100_000_000)
    t = clock.place(6.0, 12.0, closed_at_us=106_050_000)
    assert t.start_us == 100_000_000
    assert t.duration_us == 6_000_000
    assert t.drift_us == 0
    t3 = clock.place(12.0, 18.0, closed_at_us=112_000_000)
    # Received 50 ms later than media time predicts: the drift is kept, not hidden.
    assert t3.start_us == 106_050_000
    assert t3.drift_us == 50_000


def test_backoff_grows_to_cap_and_resets() -> None:
    b = Backoff(initial_s=1, cap_s=5)
    assert [b.next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]
    b.reset()
    assert b.next_delay() == 1


def test_a_late_read_on_a_loaded_machine_does_not_cut_the_recording() -> None:
    """ffmpeg's report of a close read 1.5 s late (a busy machine, not the camera): the media
    clock says the footage goes on, so the next segment starts where this one ends, give or
    take the slew — not 1.5 s later, which split the span and registered a hole."""
    clock = RunClock()
    a = clock.place(0.0, 2.0, closed_at_us=100_000_000)
    b = clock.place(2.0, 4.0, closed_at_us=103_500_000)  # read late: really 102.0
    c = clock.place(4.0, 6.0, closed_at_us=104_000_000)  # b's close, read late
    d = clock.place(6.0, 8.0, closed_at_us=106_000_000)  # on time again
    e = clock.place(8.0, 10.0, closed_at_us=108_000_000)
    for prev, seg in ((a, b), (b, c), (c, d), (d, e)):
        assert abs(seg.start_us - prev.end_us) <= SLEW_US, (prev, seg)
    assert c.drift_us > 1_000_000  # what was measured is kept, not hidden


def test_a_media_gap_is_a_hole_and_a_long_stall_is_placed_by_receipt_time() -> None:
    """Frames the timestamps skip are a hole; packets that stop for longer than STEP_US while
    the timestamps go on are placed where they arrived (an event, not jitter)."""
    clock = RunClock()
    clock.place(0.0, 2.0, closed_at_us=100_000_000)
    b = clock.place(2.0, 4.0, closed_at_us=105_000_000)  # c's first packet came at 105
    c = clock.place(7.0, 9.0, closed_at_us=115_000_000)  # 4..7 never came; d's came 8 s late
    assert (b.start_us, b.end_us) == (100_000_000, 102_000_000)
    assert c.start_us - b.end_us == 3_000_000 and c.drift_us == 0
    d = clock.place(9.0, 11.0, closed_at_us=117_000_000)
    assert d.start_us == 115_000_000 and d.drift_us == 8_000_000 > STEP_US
