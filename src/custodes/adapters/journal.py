"""Per-run journal of closed segments, so that a crash does not lose their media timing.

One CSV line per segment ffmpeg closed: `name,media_start,media_end,closed_at_us`. Written
before the segment is handed to the sealer; reconciliation replays it after a crash. A file
reconciliation found open after a crash gets a line too, once it is measured, with a fifth
field `open`: a redo of its seal then places it exactly where the first try did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

JOURNAL_NAME = "segments.csv"


OPEN_FLAG = "open"


@dataclass(frozen=True)
class JournalLine:
    name: str
    media_start: float
    media_end: float
    closed_at_us: int
    open: bool = False  # found open after a crash (placed by reconciliation, not by ffmpeg)


class Journal:
    def __init__(self, run_dir: Path) -> None:
        self._f = (run_dir / JOURNAL_NAME).open("a", encoding="utf-8")

    def append(
        self,
        name: str,
        media_start: float,
        media_end: float,
        closed_at_us: int,
        *,
        found_open: bool = False,
    ) -> None:
        flag = f",{OPEN_FLAG}" if found_open else ""
        self._f.write(f"{name},{media_start:.6f},{media_end:.6f},{closed_at_us}{flag}\n")
        self._f.flush()  # into the page cache: survives a killed process

    def close(self) -> None:
        self._f.close()

    @staticmethod
    def parse_ffmpeg_line(line: str) -> tuple[str, float, float] | None:
        parts = line.strip().split(",")
        if len(parts) != 3:
            return None
        try:
            return Path(parts[0]).name, float(parts[1]), float(parts[2])
        except ValueError:
            return None

    @staticmethod
    def read(run_dir: Path) -> list[JournalLine]:
        path = run_dir / JOURNAL_NAME
        if not path.exists():
            return []
        lines = []
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = raw.split(",")
            if len(parts) not in (4, 5) or (len(parts) == 5 and parts[4] != OPEN_FLAG):
                continue  # a line torn by the crash
            try:
                lines.append(
                    JournalLine(
                        parts[0],
                        float(parts[1]),
                        float(parts[2]),
                        int(parts[3]),
                        open=len(parts) == 5,
                    )
                )
            except ValueError:
                continue
        return lines
