"""The export manager on the grant page in Chromium, in English and in Chinese: the Export
button queues a job, its <progress> bar and percentage follow it until it is done, then the
export's download link is in the grant's lasting list; a job that fails says why in the
page's language until its asker dismisses it; a reload while a job runs shows it and its
progress again; a watched job the list leaves out is followed on its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import delete, insert, update

from custodes.adapters.db import schema
from custodes.domain.access_rules import Action
from custodes.paths import DATABASE_URL_ENV
from custodes.services.context import open_context
from custodes.services.exports import jobs

from .browser_env import CAST, SERVED, _as, _recorded_span, _shot
from .grant_setup import GrantSetup, approved_grant

pytestmark = pytest.mark.slow

SEC = 1_000_000
MIN = 60 * SEC

# Every state and <progress> value the job lines show, as they change (a job may run for a
# moment only: the record is the page's own, not a poll of ours).
WATCH = """() => {
  window.jobLog = [];
  const note = () => {
    for (const p of document.querySelectorAll("#export-jobs .export-job")) {
      const bar = p.querySelector("progress");
      window.jobLog.push([p.dataset.job, p.dataset.state, bar ? bar.value : null,
        p.querySelector(".job-percent").textContent, p.querySelector(".job-state").textContent]);
    }
  };
  new MutationObserver(note).observe(document.getElementById("export-jobs"),
    { childList: true, subtree: true, attributes: true });
}"""


@pytest.fixture
def copy_grant(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`copy_grant(name, start_us, end_us)`: a copy grant on camera 1 held by a new officer
    (CAST[name]), made the way the product makes one, in the served installation's database."""
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)  # the server's is the data directory's

    def make(name: str, start_us: int, end_us: int) -> GrantSetup:
        ctx = open_context(SERVED[0], migrate=False)
        try:
            setup = approved_grant(
                ctx, camera_ids=[1], start_us=start_us, end_us=end_us, action=Action.COPY
            )
        finally:
            ctx.engine.dispose()
        CAST[name] = setup.holders[0]
        return setup

    yield make


def _now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1e6)


def _export_from_the_page(page: Page, server: str, grant_id: int) -> list[list[Any]]:
    """Export what the page offers (the grant's range), watermarked; wait until the job is
    done and its download link listed; the job lines' record."""
    page.goto(f"{server}/grants/{grant_id}")
    page.wait_for_selector("#grant-use")
    page.evaluate(WATCH)
    page.check("#watermark")
    page.click("#export")
    page.wait_for_selector("#export-jobs .export-job[data-state='done']", timeout=180_000)
    page.wait_for_selector("#exports a[id^='download-']", timeout=60_000)
    log: list[list[Any]] = page.evaluate("() => window.jobLog")
    return log


def _check_progress(log: list[list[Any]], done_word: str) -> None:
    """States in order (queued, running, done); the bar never goes back and ends full."""
    assert log, "no job line was shown"
    order = {"queued": 0, "running": 1, "done": 2}
    states = [order[s] for _, s, _, _, _ in log if s in order]
    assert states == sorted(states) and states[0] < 2 and states[-1] == 2, log
    values = [v for _, _, v, _, _ in log if v is not None]
    assert values == sorted(values) and values[-1] == 1, log
    assert log[-1][3].replace("\u00a0", "").replace(" ", "") == "100%", log
    assert log[-1][4] == done_word, log


@pytest.mark.parametrize(
    ("locale", "done_word", "queued_word"),
    [("en-US", "Exported", "Export queued"), ("zh-CN", "已导出", "导出排队中")],
)
def test_export_from_the_grant_page_shows_progress_then_the_download(
    server: str, browser: Browser, copy_grant: Any, locale: str, done_word: str, queued_word: str
) -> None:
    span = _recorded_span(server, 16)
    name = f"exporter-{locale}"
    setup = copy_grant(name, span["start_us"] - 10 * SEC, span["end_us"])
    page = _as(browser, server, name, locale=locale)
    log = _export_from_the_page(page, server, setup.grant.id)
    _check_progress(log, done_word)
    assert log[0][1] == "queued" and log[0][4] == queued_word, log  # shown at once
    _shot(page, f"grant-export-job-{locale}.png")  # the job's line, done, under the button
    page.locator("#exports").scroll_into_view_if_needed()
    _shot(page, f"grant-export-download-{locale}.png")
    link = page.get_attribute("#exports a[id^='download-']", "href")
    assert link is not None and link.endswith("/download")
    with page.expect_download() as download:
        page.click("#exports a[id^='download-']")
    assert download.value.suggested_filename.endswith(".zip")
    # the export is the grant's for good; the job that made it no longer shows after a reload
    page.reload()
    page.wait_for_selector("#exports a[id^='download-']")
    page.wait_for_function("() => document.querySelector('#export-jobs') !== null")
    assert page.query_selector("#export-jobs .export-job[data-state='done']") is None


@pytest.mark.parametrize(
    ("locale", "running_word", "nothing"),
    [("en-US", "Exporting", "nothing recorded"), ("zh-CN", "正在导出", "没有录像")],
)
def test_a_failure_says_why_and_a_reload_shows_a_running_job_again(
    server: str,
    browser: Browser,
    copy_grant: Any,
    locale: str,
    running_word: str,
    nothing: str,
) -> None:
    """A range of the grant before anything was recorded: the job fails, its reason in the
    page's language. A job the worker runs (planted as running, at 40 %, in the served
    database: the worker takes only queued jobs) shows with its progress after a reload."""
    now = _now_us()
    name = f"failing-{locale}"
    setup = copy_grant(name, now - 24 * 3600 * SEC, now)  # from a day before the server began
    page = _as(browser, server, name, locale=locale)
    page.goto(f"{server}/grants/{setup.grant.id}")
    page.wait_for_selector("#grant-use")
    page.click("#export")  # the page offers the grant's first two hours: nothing recorded
    failed = page.wait_for_selector(
        "#export-jobs .export-job[data-state='failed'] .job-error", timeout=120_000
    )
    assert failed is not None and nothing in failed.inner_text()
    _shot(page, f"grant-export-failed-{locale}.png")

    _plant(setup, name, [{"state": jobs.RUNNING, "progress_done": 40}])
    page.reload()
    running = page.wait_for_selector("#export-jobs .export-job[data-state='running']")
    assert running is not None
    assert running.eval_on_selector("progress", "p => p.value") == pytest.approx(0.4)
    assert running.inner_text().replace("\u00a0", "").replace(" ", "").count("40%") == 1
    assert running_word in running.inner_text()
    # the failed job is still there, still saying why, in the page's language
    assert nothing in page.inner_text("#export-jobs .export-job[data-state='failed']")
    _shot(page, f"grant-export-running-{locale}.png")
    # the failure seen, its asker dismisses it: gone from the page, and after a reload too
    button = page.locator("#export-jobs .export-job[data-state='failed'] .job-dismiss")
    assert button.inner_text() == {"en-US": "Dismiss", "zh-CN": "清除"}[locale]
    button.click()
    page.wait_for_selector("#export-jobs .export-job[data-state='failed']", state="detached")
    page.reload()
    page.wait_for_selector("#export-jobs .export-job[data-state='running']")
    assert page.query_selector("#export-jobs .export-job[data-state='failed']") is None


def _plant(setup: GrantSetup, name: str, rows: list[dict[str, Any]]) -> list[int]:
    """Job rows of CAST[name] under the grant, written into the served database (the worker
    takes only queued ones); their ids."""
    officer = CAST[name]
    now = _now_us()
    base = {
        "grant_id": setup.grant.id,
        "camera_id": 1,
        "start_us": now - 2 * MIN,
        "end_us": now - MIN,
        "watermark": False,
        "account_id": officer.account_id,
        "username": officer.username,
        "progress_done": 0,
        "progress_total": 100,
        "attempts": 1,
        "created_us": now,
        "started_us": now,
    }
    ctx = open_context(SERVED[0], migrate=False)
    try:
        with ctx.engine.begin() as conn:
            return [
                int(
                    conn.execute(
                        insert(schema.export_jobs)
                        .values(**{**base, **row})
                        .returning(schema.export_jobs.c.id)
                    ).scalar_one()
                )
                for row in rows
            ]
    finally:
        ctx.engine.dispose()


def test_a_watched_job_the_list_leaves_out_is_followed_and_one_gone_is_let_go(
    server: str, browser: Browser, copy_grant: Any
) -> None:
    """The list answers the newest jobs only (jobs.LIST_LIMIT): a job the page watches that
    newer ones pushed out of it was shown as it last was, for ever, and polled for ever; one
    that is gone (404) likewise. The first is now read on its own and shown as it is (failed);
    the second is let go, and the polling ends."""
    now = _now_us()
    name = "watcher"
    setup = copy_grant(name, now - 24 * 3600 * SEC, now)
    older = now - 3600 * SEC
    pushed, gone = _plant(
        setup,
        name,
        [
            {"state": jobs.RUNNING, "progress_done": 40, "created_us": older},
            {"state": jobs.RUNNING, "created_us": older - 1},
        ],
    )
    page = _as(browser, server, name)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/exports/jobs" in r.url else None)
    page.goto(f"{server}/grants/{setup.grant.id}")
    page.wait_for_selector(f"#job-{pushed}[data-state='running']")
    page.wait_for_selector(f"#job-{gone}")
    # newer jobs first: SQLite would give a deleted highest id to the next row
    _plant(
        setup,
        name,
        [{"state": jobs.DONE, "created_us": now + i} for i in range(jobs.LIST_LIMIT)],
    )
    ctx = open_context(SERVED[0], migrate=False)
    try:
        with ctx.engine.begin() as conn:
            J = schema.export_jobs
            conn.execute(delete(J).where(J.c.id == gone))
            conn.execute(
                update(J)
                .where(J.c.id == pushed)
                .values(state=jobs.FAILED, finished_us=now, error_msgid=jobs.FAILED_ON_SERVER)
            )
    finally:
        ctx.engine.dispose()
    page.wait_for_selector(f"#job-{pushed}[data-state='failed']", timeout=30_000)
    page.wait_for_function(f"() => document.getElementById('job-{gone}') === null")
    page.wait_for_timeout(2_000)  # a poll on its way when the page saw it
    before = len(polls)
    page.wait_for_timeout(3_000)  # three polls' time
    assert len(polls) == before, polls[before:]
    page.context.close()
