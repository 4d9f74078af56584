"""bench/ledger: ledger appends per second and verification entries per second.

Appends are measured as the services make them, one entry per transaction (`record` inside
`engine.begin()`), and in batches of 1,000 (`record_many`), on SQLite (WAL, synchronous=FULL:
every commit is an fsync) and on PostgreSQL when reachable. The baseline, in the same run and
interleaved with ours so that disk noise falls on both: a plain INSERT of the same rows (hash
values precomputed) into an identical table with the same indexes, through the same engine.

Verification walks ≥ 200,000 entries with `ledger.verify` (hashes, links, head, signed
checkpoint). Its baselines: the bare scan of the same rows through the same cursor, and
hashlib.sha256 over the same encoded bytes, with no database at all.

Targets (issue 4): ≥ 5,000 appends/s on SQLite, ≥ 100,000 verified entries/s.
`python -m bench.ledger [--no-write]`; sizes from BENCH_LEDGER_ENTRIES, BENCH_LEDGER_APPENDS.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    text,
)

from custodes.domain.ledger import GENESIS, canonical_json, entry_bytes, entry_hash
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services import ledger
from custodes.services.context import Context
from custodes.services.setup import initialise

from .report import write_section

PG_URL = os.environ.get(
    "CUSTODES_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = 1_795_000_000_000_000
BATCH = 1000
ROUNDS = 4  # ours and the baseline take turns, ROUNDS times each


def _entry(i: int) -> ledger.NewEntry:
    """A typical entry: a media view of a 30-minute range."""
    return ledger.NewEntry(
        actor=f"operator{i % 7}",
        action=ledger.MEDIA_VIEWED,
        object=f"camera:{i % 16 + 1}",
        time_us=T0 + i * 1000,
        details={"start_us": T0 + i, "end_us": T0 + i + 1_800_000_000, "segments": 300},
    )


def _plain_rows(start: int, n: int) -> list[dict[str, Any]]:
    """The same rows as `_entry` gives, hashes precomputed: what a plain INSERT writes."""
    rows = []
    prev = GENESIS
    for i in range(start, start + n):
        e = _entry(i)
        details = canonical_json(e.details)
        h = entry_hash(prev, i + 1, e.time_us, e.actor, e.action, e.object, details)
        rows.append(
            {
                "seq": i + 1,
                "time_us": e.time_us,
                "actor": e.actor,
                "action": e.action,
                "object": e.object,
                "details": details,
                "prev_hash": prev,
                "hash": h,
            }
        )
        prev = h
    return rows


def _plain_table(engine: Engine, name: str) -> Table:
    """A table like `ledger` (same columns, key and indexes), without the chain."""
    meta = MetaData()
    table = Table(
        name,
        meta,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("time_us", BigInteger, nullable=False),
        Column("actor", String(128), nullable=False),
        Column("action", String(64), nullable=False),
        Column("object", String(256), nullable=False),
        Column("details", Text, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
        Index(f"ix_{name}_time", "time_us"),
        Index(f"ix_{name}_action_time", "action", "time_us"),
    )
    meta.create_all(engine)
    return table


@dataclass
class Rates:
    ours: float
    baseline: float

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline


def _interleaved(ours: Callable[[int], float], plain: Callable[[int], float], n: int) -> Rates:
    """Run both in ROUNDS alternating rounds of n/ROUNDS; rates over the summed times."""
    per = max(1, n // ROUNDS)
    t_ours = t_plain = 0.0
    for r in range(ROUNDS):
        t_ours += ours(r * per)
        t_plain += plain(r * per)
    return Rates(per * ROUNDS / t_ours, per * ROUNDS / t_plain)


def bench_appends(ctx: Context, n: int, batch: int) -> Rates:
    engine = ctx.engine
    plain = _plain_table(engine, f"ledger_plain_{batch}")
    per = max(1, n // ROUNDS)
    offset = [10_000_000]  # plain rows get seqs of their own

    def ours(start: int) -> float:
        entries = [_entry(start + i) for i in range(per)]
        t = time.perf_counter()
        for k in range(0, per, batch):
            with engine.begin() as conn:
                if batch == 1:
                    e = entries[k]
                    ledger.record(
                        conn,
                        actor=e.actor,
                        action=e.action,
                        object=e.object,
                        details=e.details,
                        time_us=e.time_us,
                    )
                else:
                    ledger.record_many(conn, entries[k : k + batch])
        return time.perf_counter() - t

    def baseline(start: int) -> float:
        rows = _plain_rows(offset[0], per)
        offset[0] += per
        t = time.perf_counter()
        for k in range(0, per, batch):
            with engine.begin() as conn:
                if batch == 1:
                    conn.execute(insert(plain).values(**rows[k]))
                else:
                    conn.execute(insert(plain), rows[k : k + batch])
        return time.perf_counter() - t

    return _interleaved(ours, baseline, n)


@dataclass
class VerifyRates:
    entries: int
    ours: float
    scan: float
    sha256: float
    ok: bool


def bench_verify(ctx: Context, total: int) -> VerifyRates:
    have = ledger.current_head(ctx)[0]
    start = have
    while start < total:
        n = min(5000, total - start)
        with ctx.engine.begin() as conn:
            ledger.record_many(conn, [_entry(start + i) for i in range(n)])
        start += n
    ledger.checkpoint(ctx)
    runs = []
    report = ledger.verify(ctx)
    for _ in range(3):
        t = time.perf_counter()
        report = ledger.verify(ctx)
        runs.append(time.perf_counter() - t)
    entries = report.entries
    scans = []
    for _ in range(3):
        t = time.perf_counter()
        with ledger.read_snapshot(ctx) as cursor:
            cur = cursor(stream=True)
            cur.execute(ledger.ROWS_SQL)
            rows = 0
            while batch := cur.fetchmany(20_000):
                rows += len(batch)
        scans.append(time.perf_counter() - t)
    assert rows == entries
    bodies = []
    prev = GENESIS
    for i in range(entries):
        e = _entry(i)
        details = canonical_json(e.details)
        bodies.append(entry_bytes(prev, i + 1, e.time_us, e.actor, e.action, e.object, details))
    hashes = []
    for _ in range(3):
        t = time.perf_counter()
        for body in bodies:
            hashlib.sha256(body).hexdigest()
        hashes.append(time.perf_counter() - t)
    return VerifyRates(
        entries=entries,
        ours=entries / statistics.median(runs),
        scan=entries / statistics.median(scans),
        sha256=entries / statistics.median(hashes),
        ok=report.ok,
    )


def _pg_reachable() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _run(label: str, work: Path, url: str | None, appends: int, entries: int) -> list[str]:
    if url is None:
        os.environ.pop(DATABASE_URL_ENV, None)
    else:
        os.environ[DATABASE_URL_ENV] = url
    lines = []
    ctx = initialise(DataDir(work / label), "jilin").context
    try:
        single = bench_appends(ctx, appends, 1)
        print(f"{label}: {single}", flush=True)
        many = bench_appends(ctx, appends * 10, BATCH)
        print(f"{label}: {many}", flush=True)
    finally:
        ctx.engine.dispose()
    ctx = initialise(DataDir(work / f"{label}-verify"), "jilin").context
    try:
        v = bench_verify(ctx, entries)
        print(f"{label}: {v}", flush=True)
    finally:
        ctx.engine.dispose()
    target = label == "SQLite"
    lines += [
        f"| {label}: appends/s, one per transaction{' (target ≥ 5,000)' if target else ''} | "
        f"{single.ours:,.0f} | plain INSERT, one per transaction: {single.baseline:,.0f} | "
        f"{single.ratio:.2f} |"
        + (f" {'met' if single.ours >= 5000 else 'not met'} |" if target else " — |"),
        f"| {label}: appends/s, {BATCH:,} per transaction (`record_many`) | {many.ours:,.0f} | "
        f"plain INSERT, {BATCH:,} per transaction: {many.baseline:,.0f} | {many.ratio:.2f} |"
        + (f" {'met' if many.ours >= 5000 else 'not met'} |" if target else " — |"),
        f"| {label}: verified entries/s over {v.entries:,} (target ≥ 100,000) | {v.ours:,.0f} "
        f"| scan alone: {v.scan:,.0f}; sha256 alone: {v.sha256:,.0f} | "
        f"{v.ours / v.scan:.2f}; {v.ours / v.sha256:.2f} | "
        f"{'met' if v.ours >= 100_000 and v.ok else 'not met'} |",
    ]
    return lines


def main() -> None:
    entries = int(os.environ.get("BENCH_LEDGER_ENTRIES", "200000"))
    appends = int(os.environ.get("BENCH_LEDGER_APPENDS", "2000"))
    work = Path(tempfile.mkdtemp(prefix="custodes-bench-ledger-"))
    saved = os.environ.get(DATABASE_URL_ENV)
    rows: list[str] = []
    pg_note = "PostgreSQL not reachable: not measured."
    try:
        rows += _run("SQLite", work, None, appends, entries)
        if _pg_reachable():
            pg_schema = "bench_ledger_" + secrets.token_hex(4)
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {pg_schema}"))
            try:
                url = f"{PG_URL}?options=-csearch_path%3D{pg_schema}"
                rows += _run("PostgreSQL", work, url, appends, entries)
                pg_note = f"PostgreSQL: {PG_URL.split('@')[-1]}, a schema of its own."
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {pg_schema} CASCADE"))
                admin.dispose()
    finally:
        if saved is None:
            os.environ.pop(DATABASE_URL_ENV, None)
        else:
            os.environ[DATABASE_URL_ENV] = saved
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "## Ledger (`bench/ledger.py`)",
        "",
        f"{appends:,} single appends and {appends * 10:,} batched, each side taking "
        f"{ROUNDS} alternating turns with its baseline; verification median of 3 walks. "
        "SQLite in WAL with synchronous=FULL: a commit is an fsync, so one entry per "
        f"transaction is bounded by the disk for the baseline just the same. {pg_note} "
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPU(s).",
        "",
        "| measure | Custodes | baseline | ratio | target |",
        "|---|---|---|---|---|",
        *rows,
    ]
    text_out = "\n".join(lines)
    if "--no-write" not in sys.argv[1:]:
        write_section("ledger", text_out)
    print(text_out)


if __name__ == "__main__":
    main()
