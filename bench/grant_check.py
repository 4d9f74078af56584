"""bench/grant_check: the grant check on the playback path, p50/p99 per check.

The database holds 10,000 grants over 100 cameras, held by 200 accounts (two signed officers a
grant, one to three cameras each: ~35,000 grant_scope rows), about two thirds of them expired
or revoked (a tenth revoked), with their approved access requests, staff and cameras, and
100,000 ledger entries.
Rows are inserted in bulk (the grant tables directly, the ledger through `record_many`): what
is measured is the lookup, not how the rows got there.

Measured, each over the same random mix of checks (a live grant's holder, camera and a range
inside it; or an account and camera with no live grant covering the range):

- `grants.find` on an open connection: the query every playback, export and download runs;
- `grants.require` for a check that succeeds: a connection from the pool, the clock, `find`
  (what GET /cameras/{id}/media adds before it looks for segments);

each beside its floor, in the same run and interleaved with it so that noise falls on both: a
bare primary-key SELECT of one grants row on the same open connection, and the same SELECT on
a connection taken from the pool (each a statement built once, its value bound per call). The
ratio is ours to the floor at p50. A reference row runs find's query as built by the bench:
`grants.find` builds its statement once too (it used to build it at every call, which cost
3–5× the query itself), so the two should agree.

SQLite (the default) and PostgreSQL when reachable (a schema of its own).
`python -m bench.grant_check [--no-write]`; sizes from BENCH_GRANTS, BENCH_GRANT_LEDGER.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, bindparam, create_engine, insert, select, text

from custodes.adapters.db import schema
from custodes.domain.access_rules import Action
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services import grants, ledger
from custodes.services.context import Context
from custodes.services.retention import jurisdiction
from custodes.services.setup import initialise

from .report import write_section

PG_URL = os.environ.get(
    "CUSTODES_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
GRANTS = int(os.environ.get("BENCH_GRANTS", "10000"))
LEDGER_ROWS = int(os.environ.get("BENCH_GRANT_LEDGER", "100000"))
ACCOUNTS = 200
CAMERAS = 100
CHECKS = 4000  # per measure, in ROUNDS alternating turns with its floor
ROUNDS = 4
DAY = 86_400_000_000
HOUR = 3_600_000_000
ACTIONS = (Action.VIEW, Action.COPY, Action.RETRIEVE_ORIGINAL)


@dataclass(frozen=True)
class Check:
    account_id: int
    camera_id: int
    start_us: int
    end_us: int
    need: Action
    grant_id: int  # a grants row for the floor's primary-key SELECT


@dataclass
class Built:
    hits: list[Check]
    misses: list[Check]
    grant_ids: list[int]
    scope_rows: int
    live: int
    seconds: float


def _build(ctx: Context, n_grants: int, n_ledger: int, rng: random.Random) -> Built:
    started = time.perf_counter()
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        juris = jurisdiction(conn).id
        orgs = []
        for i in range(10):
            orgs.append(
                int(
                    conn.execute(
                        insert(schema.organisations)
                        .values(name=f"bench org {i}", kind="public-security", created_us=now)
                        .returning(schema.organisations.c.id)
                    ).scalar_one()
                )
            )
        first_cam = _next_id(conn, schema.cameras.c.id)
        conn.execute(
            insert(schema.cameras),
            [
                {
                    "id": first_cam + i,
                    "name": f"bench-cam-{i}",
                    "url": f"rtsp://10.0.{i // 250}.{i % 250}/s",
                    "place": "bench",
                    "signage_posted": True,
                    "key_target": False,
                    "created_us": now,
                    "updated_us": now,
                }
                for i in range(CAMERAS)
            ],
        )
        cams = [first_cam + i for i in range(CAMERAS)]
        first_account = _next_id(conn, schema.accounts.c.id)
        conn.execute(
            insert(schema.accounts),
            [
                {
                    "id": first_account + i,
                    "username": f"bench-officer-{i}",
                    "password_hash": "x",
                    "role": "external_officer",
                    "created_us": now,
                    "organisation_id": orgs[i % len(orgs)],
                    "work_id": f"W{i:05d}",
                }
                for i in range(ACCOUNTS)
            ],
        )
        manager = first_account + ACCOUNTS
        conn.execute(
            insert(schema.accounts).values(
                id=manager,
                username="bench-manager",
                password_hash="x",
                role="security_manager",
                created_us=now,
                organisation_id=1,
            )
        )
        # officers of one organisation sign together: holders are two of the same org
        by_org: dict[int, list[int]] = {}
        for i in range(ACCOUNTS):
            by_org.setdefault(orgs[i % len(orgs)], []).append(first_account + i)
        first_request = _next_id(conn, schema.access_requests.c.id)
        first_grant = _next_id(conn, schema.grants.c.id)
        requests, staff, req_cams, grant_rows, scope = [], [], [], [], []
        live: list[tuple[int, list[int], list[int], int, int, Action]] = []
        for g in range(n_grants):
            rid, gid = first_request + g, first_grant + g
            org = orgs[g % len(orgs)]
            holders = rng.sample(by_org[org], 2)
            gcams = rng.sample(cams, rng.choice((1, 1, 2, 3)))
            end = now - HOUR - rng.randrange(0, 60 * DAY)  # all footage ends before now
            start = end - rng.randrange(HOUR, 7 * DAY)
            granted = now - rng.randrange(0, 80 * DAY)
            expires = granted + rng.choice((7, 7, 14, 30, 90)) * DAY
            revoked = granted + HOUR if rng.random() < 0.10 else None
            action = rng.choice(ACTIONS)
            requests.append(
                {
                    "id": rid,
                    "organisation_id": org,
                    "created_by": holders[0],
                    "created_us": granted - HOUR,
                    "jurisdiction": juris,
                    "action": action.value,
                    "basis": "law-enforcement",
                    "purpose": "bench",
                    "destination": "evidence room" if action is not Action.VIEW else "",
                    "destination_abroad": False,
                    "start_us": start,
                    "end_us": end,
                    "manager_consent": False,
                    "state": "approved",
                    "submitted_us": granted - HOUR // 2,
                    "decided_by": manager,
                    "decided_us": granted,
                }
            )
            staff += [
                {"request_id": rid, "account_id": h, "work_id": "W", "signed_us": granted - HOUR}
                for h in holders
            ]
            req_cams += [{"request_id": rid, "camera_id": c} for c in gcams]
            grant_rows.append(
                {
                    "id": gid,
                    "request_id": rid,
                    "action": action.value,
                    "start_us": start,
                    "end_us": end,
                    "granted_by": manager,
                    "granted_us": granted,
                    "expires_us": expires,
                    "revoked_by": manager if revoked else None,
                    "revoked_us": revoked,
                    "revoke_reason": "bench" if revoked else None,
                }
            )
            scope += [
                {"grant_id": gid, "account_id": h, "camera_id": c} for h in holders for c in gcams
            ]
            if revoked is None and expires > now:
                live.append((gid, holders, gcams, start, end, action))
        for table, rows in (
            (schema.access_requests, requests),
            (schema.request_staff, staff),
            (schema.request_cameras, req_cams),
            (schema.grants, grant_rows),
            (schema.grant_scope, scope),
        ):
            for k in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[k : k + 5000])
    _fill_ledger(ctx, n_ledger, rng)
    with ctx.engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # statistics, as a database in service would have them
    hits, misses = [], []
    accounts = [first_account + i for i in range(ACCOUNTS)]
    for _ in range(CHECKS):
        gid, holders, gcams, start, end, action = rng.choice(live)
        a = rng.randrange(start, end - 60_000_000)
        b = min(end, a + rng.randrange(60_000_000, HOUR))
        need = rng.choice([x for x in ACTIONS if str(action) in grants.SATISFIES[x]])
        hits.append(Check(rng.choice(holders), rng.choice(gcams), a, b, need, gid))
        misses.append(
            Check(
                rng.choice(accounts),
                rng.choice(cams),
                now - rng.randrange(0, 60 * DAY),
                now,  # up to now: past every grant's end
                rng.choice(ACTIONS),
                first_grant + rng.randrange(n_grants),
            )
        )
    return Built(
        hits,
        misses,
        [first_grant + g for g in range(n_grants)],
        len(scope),
        len(live),
        time.perf_counter() - started,
    )


def _next_id(conn: Connection, column: Any) -> int:
    return int(conn.execute(select(column).order_by(column.desc()).limit(1)).scalar() or 0) + 1


def _fill_ledger(ctx: Context, n: int, rng: random.Random) -> None:
    base = ctx.clock() - 90 * DAY
    step = (90 * DAY) // max(1, n)
    actions = (ledger.MEDIA_VIEWED, ledger.ACCESS_DENIED, ledger.LOGIN, ledger.REQUEST_SIGNED)
    have = ledger.current_head(ctx)[0]
    done = 0
    while done < n:
        batch = min(5000, n - done)
        entries = [
            ledger.NewEntry(
                actor=f"account:bench-officer-{rng.randrange(ACCOUNTS)}",
                action=actions[(done + i) % len(actions)],
                object=f"camera:{rng.randrange(1, CAMERAS + 1)}",
                time_us=base + (have + done + i) * step,
                details={"start_us": base, "end_us": base + HOUR, "grant": done + i},
            )
            for i in range(batch)
        ]
        with ctx.engine.begin() as conn:
            ledger.record_many(conn, entries)
        done += batch


@dataclass
class Latency:
    p50_us: float
    p99_us: float
    found: int


def _quantiles(samples: list[int]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] / 1000, s[min(len(s) - 1, (len(s) * 99) // 100)] / 1000


def _interleaved(
    ours: Callable[[Check], bool], floor: Callable[[Check], bool], checks: list[Check]
) -> tuple[Latency, Latency]:
    """Time each call; ours and the floor take ROUNDS alternating turns over the checks."""
    for c in checks[:200]:  # warm both (page cache, statement caches, the pool)
        ours(c)
        floor(c)
    times: dict[str, list[int]] = {"ours": [], "floor": []}
    found = {"ours": 0, "floor": 0}
    per = len(checks) // ROUNDS
    for r in range(ROUNDS):
        part = checks[r * per : (r + 1) * per]
        for name, fn in (("ours", ours), ("floor", floor)):
            for c in part:
                t = time.perf_counter_ns()
                hit = fn(c)
                times[name].append(time.perf_counter_ns() - t)
                found[name] += hit
    (a50, a99), (b50, b99) = _quantiles(times["ours"]), _quantiles(times["floor"])
    return Latency(a50, a99, found["ours"]), Latency(b50, b99, found["floor"])


@dataclass
class Result:
    label: str
    built: Built
    find_hit: tuple[Latency, Latency]
    find_miss: tuple[Latency, Latency]
    require_hit: tuple[Latency, Latency]
    prebuilt_hit: tuple[Latency, Latency]
    plan: str


def bench(ctx: Context, label: str, rng: random.Random) -> Result:
    built = _build(ctx, GRANTS, LEDGER_ROWS, rng)
    now = ctx.clock()
    G = schema.grants
    # built once, values bound per call: the cheapest a lookup gets through SQLAlchemy
    pk = select(G.c.id, G.c.request_id, G.c.action, G.c.start_us, G.c.end_us, G.c.expires_us).where(
        G.c.id == bindparam("id")
    )
    prebuilt = _find_statement()

    with ctx.engine.connect() as conn:

        def find(c: Check) -> bool:
            return (
                grants.find(
                    conn,
                    account_id=c.account_id,
                    camera_id=c.camera_id,
                    start_us=c.start_us,
                    end_us=c.end_us,
                    need=c.need,
                    now_us=now,
                )
                is not None
            )

        def pk_select(c: Check) -> bool:
            return conn.execute(pk, {"id": c.grant_id}).first() is not None

        def find_prebuilt(c: Check) -> bool:
            values = {
                "account_id": c.account_id,
                "camera_id": c.camera_id,
                "now_us": now,
                "start_us": c.start_us,
                "end_us": c.end_us,
                "actions": [str(a) for a in grants.SATISFIES[c.need]],
            }
            return conn.execute(prebuilt, values).first() is not None

        find_hit = _interleaved(find, pk_select, built.hits)
        find_miss = _interleaved(find, pk_select, built.misses)
        prebuilt_hit = _interleaved(find_prebuilt, pk_select, built.hits)
        plan = _plan(conn, built.hits[0], now)

    def require(c: Check) -> bool:
        grants.require(
            ctx,
            account_id=c.account_id,
            username="bench",
            camera_id=c.camera_id,
            start_us=c.start_us,
            end_us=c.end_us,
            need=c.need,
        )
        return True

    def pooled_pk(c: Check) -> bool:
        with ctx.engine.connect() as conn:
            return conn.execute(pk, {"id": c.grant_id}).first() is not None

    require_hit = _interleaved(require, pooled_pk, built.hits)
    for name, (ours, floor) in (
        ("find hit", find_hit),
        ("find miss", find_miss),
        ("require hit", require_hit),
        ("prebuilt find hit", prebuilt_hit),
    ):
        print(f"{label} {name}: {ours} floor {floor}", flush=True)
    assert find_hit[0].found == len(built.hits) and find_miss[0].found == 0
    assert prebuilt_hit[0].found == len(built.hits)
    return Result(label, built, find_hit, find_miss, require_hit, prebuilt_hit, plan)


def _find_statement() -> Select[Any]:
    """The query of `grants.find`, built once with its values as bind parameters: how fast
    the same lookup is without building the statement at every call."""
    G, GS = schema.grants, schema.grant_scope
    return (
        select(G.c.id, G.c.request_id, G.c.action, G.c.start_us, G.c.end_us, G.c.expires_us)
        .select_from(GS.join(G, G.c.id == GS.c.grant_id))
        .where(
            GS.c.account_id == bindparam("account_id"),
            GS.c.camera_id == bindparam("camera_id"),
            G.c.revoked_us.is_(None),
            G.c.expires_us > bindparam("now_us"),
            G.c.start_us <= bindparam("start_us"),
            G.c.end_us >= bindparam("end_us"),
            G.c.action.in_(bindparam("actions", expanding=True)),
        )
        .order_by(G.c.expires_us.desc())
        .limit(1)
    )


def _plan(conn: Connection, c: Check, now: int) -> str:
    """The database's plan for the find query (one line per step)."""
    G, GS = schema.grants, schema.grant_scope
    query = (
        select(G.c.id)
        .select_from(GS.join(G, G.c.id == GS.c.grant_id))
        .where(
            GS.c.account_id == c.account_id,
            GS.c.camera_id == c.camera_id,
            G.c.revoked_us.is_(None),
            G.c.expires_us > now,
            G.c.start_us <= c.start_us,
            G.c.end_us >= c.end_us,
            G.c.action.in_([str(a) for a in grants.SATISFIES[c.need]]),
        )
        .order_by(G.c.expires_us.desc())
        .limit(1)
    )
    compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
        return "; ".join(str(r[-1]) for r in rows)
    rows = conn.exec_driver_sql(f"EXPLAIN {compiled}").all()
    return "; ".join(" ".join(str(r[0]).split()) for r in rows)


def _pg_reachable() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _run(label: str, work: Path, url: str | None) -> Result:
    if url is None:
        os.environ.pop(DATABASE_URL_ENV, None)
    else:
        os.environ[DATABASE_URL_ENV] = url
    ctx = initialise(DataDir(work / label), "jilin").context
    try:
        return bench(ctx, label, random.Random(20261129))
    finally:
        ctx.engine.dispose()


def _rows(r: Result) -> list[str]:
    out = []
    for name, (ours, floor), what in (
        ("`grants.find`, covered", r.find_hit, "PK SELECT, same connection"),
        ("`grants.find`, not covered", r.find_miss, "PK SELECT, same connection"),
        ("`grants.require`, covered", r.require_hit, "PK SELECT, pooled connection"),
        ("find's query prebuilt, covered (reference)", r.prebuilt_hit, "PK SELECT, same"),
    ):
        out.append(
            f"| {r.label}: {name} | {ours.p50_us:.0f} | {ours.p99_us:.0f} | {what}: "
            f"{floor.p50_us:.0f} / {floor.p99_us:.0f} | {ours.p50_us / floor.p50_us:.2f} |"
        )
    return out


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="custodes-bench-grants-"))
    saved = os.environ.get(DATABASE_URL_ENV)
    results: list[Result] = []
    pg_note = "PostgreSQL not reachable: not measured."
    try:
        results.append(_run("SQLite", work, None))
        if _pg_reachable():
            pg_schema = "bench_grants_" + secrets.token_hex(4)
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {pg_schema}"))
            try:
                url = f"{PG_URL}?options=-csearch_path%3D{pg_schema}"
                results.append(_run("PostgreSQL", work, url))
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
    b = results[0].built
    lines = [
        "## Grant check on the playback path (`bench/grant_check.py`)",
        "",
        f"{GRANTS:,} grants ({b.live:,} live; the others expired or revoked) over "
        f"{CAMERAS} cameras, held by {ACCOUNTS} accounts ({b.scope_rows:,} grant_scope rows), "
        f"with their requests, staff and cameras, and {LEDGER_ROWS:,} ledger entries. "
        f"{CHECKS:,} checks per measure (covered: a live grant's holder, camera and a range "
        "inside it; not covered: a random account and camera up to now, past every grant), in "
        f"{ROUNDS} turns alternating with the floor: a primary-key SELECT of one grants row "
        "(a statement built once, its value bound per call: the cheapest lookup through the "
        "same engine). The reference row runs find's query as built by the bench; `grants.find` "
        "builds its statement once too (building it at every call used to cost p50 874 µs / "
        "p99 1,291 µs on SQLite), so the two should agree. "
        f"Latencies in µs, p50 / p99. {pg_note} "
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPU(s).",
        "",
        "| measure | p50 µs | p99 µs | floor p50 / p99 µs | ratio at p50 |",
        "|---|---|---|---|---|",
        *[row for r in results for row in _rows(r)],
        "",
        *[f"{r.label} plan of the find query: `{r.plan}`." for r in results],
    ]
    text_out = "\n".join(lines)
    if "--no-write" not in sys.argv[1:]:
        write_section("grant_check", text_out)
    print(text_out)


if __name__ == "__main__":
    main()
