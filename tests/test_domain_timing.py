from __future__ import annotations

from custodes.domain.backoff import Backoff
from custodes.domain.timing import RunClock


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
