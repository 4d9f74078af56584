"""The camera page's timeline in Chromium (issue 12, "The operator's console"): a bookmark
added at a clicked time shows as a flag, goes to its time when pressed, and is found on
/bookmarks, whose row links back to the camera page at that time; an officer without a grant
selects a range on the timeline and "Request this range" opens the request form filled in
with the camera and the range. In English at 1366×768 and in Chinese at 1920×1080."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page

from .browser_env import _as, _at, _recorded_span, _shot, _us

pytestmark = pytest.mark.slow

VIEWS = [("en-US", 1366, 768), ("zh-CN", 1920, 1080)]
WORDS = {
    "en-US": {"added": "Bookmark added", "request": "Request this range"},
    "zh-CN": {"added": "书签已添加", "request": "申请调取此时段"},
}
# The newest recorded bar's part that is in view: [x, y, width, height].
NEWEST = """() => {
  const t = document.querySelector('#timeline').getBoundingClientRect();
  const b = [...document.querySelectorAll('#timeline rect.span')].at(-1).getBoundingClientRect();
  const x0 = Math.max(b.x, t.x), x1 = Math.min(b.x + b.width, t.x + t.width);
  return [x0, b.y, x1 - x0, b.height];
}"""
BOX = "r => { const b = r.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; }"


def _in(browser: Browser, server: str, who: str, locale: str, w: int, h: int) -> Page:
    p = _as(browser, server, who, locale)
    p.set_viewport_size({"width": w, "height": h})
    p.on("console", lambda m: print(f"console {m.type}: {m.text}"))  # shown when a test fails
    p.on("pageerror", lambda e: print(f"pageerror: {e}"))
    return p


def _recording_in_view(p: Page, server: str, path: str = "/cameras/1") -> list[float]:
    """The camera page with the last minute in view (the recording fills most of it); the
    box of its newest recorded bar, as far as it is in view."""
    p.goto(f"{server}{path}")
    p.wait_for_selector("#timeline rect.span")
    for _ in range(8):
        p.click("#zoom-in")
    p.wait_for_function("() => document.querySelectorAll('#timeline text').length > 0")
    p.wait_for_selector("#timeline rect.span")
    p.locator("#timeline").scroll_into_view_if_needed()  # below the fold at 1366×768
    box: list[float] = p.evaluate(NEWEST)
    assert box[2] > 20, box
    return box


@pytest.mark.parametrize(("locale", "w", "h"), VIEWS)
def test_a_bookmark_is_added_shown_gone_to_and_found(
    server: str, browser: Browser, locale: str, w: int, h: int
) -> None:
    _recorded_span(server, 8)
    p = _in(browser, server, "manager", locale, w, h)
    box = _recording_in_view(p, server)
    p.mouse.click(box[0] + box[2] * 0.5, box[1] + box[3] / 2)  # a clicked time
    p.wait_for_function("() => document.querySelector('#bookmark-at').dateTime !== ''")
    at = p.get_attribute("#bookmark-at", "datetime")
    note = f"Van at the gate ({locale})"
    p.fill("#bookmark-note", note)
    p.click("#bookmark-add")
    p.wait_for_selector("#timeline g.bookmark")
    assert WORDS[locale]["added"] in p.inner_text("#bookmark-said")
    assert p.input_value("#bookmark-note") == ""
    marks = p.eval_on_selector_all(
        "#timeline g.bookmark", "gs => gs.map(g => g.querySelector('title').textContent)"
    )
    assert any(note in m for m in marks), marks
    _shot(p, f"timeline-bookmark-{locale}.png")
    # pressing the flag goes to its time: elsewhere first, then on the flag
    p.locator("#timeline").scroll_into_view_if_needed()
    box = p.evaluate(NEWEST)
    p.mouse.click(box[0] + box[2] * 0.1, box[1] + box[3] / 2)
    p.wait_for_function("at => document.querySelector('#bookmark-at').dateTime !== at", arg=at)
    flag = p.eval_on_selector(f"#timeline g.bookmark[data-at='{_us(at or '') // 1000}'] rect", BOX)
    p.mouse.click(flag[0] + flag[2] / 2, flag[1] + 5)
    p.wait_for_function("at => document.querySelector('#bookmark-at').dateTime === at", arg=at)
    # and from the keyboard: the flag is a button Tab reaches, Enter presses
    p.mouse.click(box[0] + box[2] * 0.1, box[1] + box[3] / 2)
    p.wait_for_function("at => document.querySelector('#bookmark-at').dateTime !== at", arg=at)
    flag_of = f"#timeline g.bookmark[data-at='{_us(at or '') // 1000}']"
    p.focus(flag_of)
    assert p.get_attribute(flag_of, "role") == "button"
    p.keyboard.press("Enter")
    p.wait_for_function("at => document.querySelector('#bookmark-at').dateTime === at", arg=at)
    # found on /bookmarks by a word of its note; its row goes to the camera page at its time
    p.click("#nav-bookmarks")
    p.wait_for_url(_at("/bookmarks"))
    p.fill("#bookmark-words", locale)
    p.click("#bookmark-apply")
    p.wait_for_url(lambda url: "q=" in url)
    rows = p.locator("#bookmarks tr[data-bookmark]")
    assert rows.count() == 1 and note in rows.first.inner_text()
    _shot(p, f"bookmarks-page-{locale}.png")
    rows.first.locator("a.bookmark-go").click()
    p.wait_for_url(_at("/cameras/1"))
    assert parse_qs(urlsplit(p.url).query)["at"] == [at]
    p.wait_for_function("at => document.querySelector('#bookmark-at').dateTime === at", arg=at)
    p.wait_for_selector("#timeline line.cursor, #timeline line.head", state="attached")
    # the author deletes it
    p.goto(f"{server}/bookmarks?q={locale}")
    p.click("button.bookmark-delete")
    p.wait_for_function("() => !document.querySelector('#bookmarks tr[data-bookmark]')")
    p.context.close()


@pytest.mark.parametrize(("locale", "w", "h"), VIEWS)
def test_an_officer_without_a_grant_requests_a_range_selected_on_the_timeline(
    server: str, browser: Browser, locale: str, w: int, h: int
) -> None:
    span = _recorded_span(server, 8)
    p = _in(browser, server, "officer1", locale, w, h)
    box = _recording_in_view(p, server)
    assert p.is_hidden("#request-range")
    p.click("#select-range")
    assert p.get_attribute("#select-range", "aria-pressed") == "true"
    top = p.eval_on_selector("#timeline", "t => t.getBoundingClientRect().y")
    x0, x1, y = box[0] + box[2] * 0.2, box[0] + box[2] * 0.8, top + 4
    p.mouse.move(x0, y)
    p.mouse.down()
    p.mouse.move(x1, y, steps=10)
    p.mouse.up()
    p.wait_for_selector("#request-range", state="visible")
    assert p.inner_text("#request-range") == WORDS[locale]["request"]
    p.wait_for_selector("#timeline rect.selection")
    assert p.eval_on_selector("#playback", "v => v.currentSrc") == ""  # nothing asked to play
    _shot(p, f"timeline-range-{locale}.png")
    p.click("#request-range")
    p.wait_for_url(_at("/requests/new"))
    asked = parse_qs(urlsplit(p.url).query)
    assert asked["camera"] == ["1"]
    start, end = _us(asked["start"][0]), _us(asked["end"][0])
    assert span["start_us"] - 60_000_000 < start < end <= span["end_us"] + 60_000_000
    # the form, filled in by the server: the camera chosen, the times in the site's zone
    chosen = p.eval_on_selector(
        "select[name=camera_ids]", "s => [...s.selectedOptions].map(o => o.value)"
    )
    assert chosen == ["1"]
    shown = {k: p.input_value(f"#request-form input[name={k}]") for k in ("start", "end")}
    for value in shown.values():
        # a picker's value, to the second; the browser drops ":00" (HTML's normalised form)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?", value), shown
    site = ZoneInfo("Asia/Shanghai")  # the served installation's zone (Jilin)
    a, b = (
        _us(datetime.fromisoformat(shown[k]).replace(tzinfo=site).isoformat())
        for k in ("start", "end")
    )
    assert a <= start < end <= b < end + 1_000_000, shown
    _shot(p, f"request-range-form-{locale}.png")
    p.context.close()
