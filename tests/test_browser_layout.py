"""Every page fits its screen and speaks one language (issue 12: "the grid fits the screen at
common sizes"; "in both languages, at 1366×768 and 1920×1080"; "no English in the Chinese
UI"). Each page the navigation offers a role, and the pages one reaches from them (a camera,
synchronised playback), in English and in Chinese at both sizes, scrolls vertically only — no
page, navigation bar or table runs off the right edge (a hidden horizontal scroll bar is where
a duty operator loses the button they need) — and is saved as a screenshot under
test-artifacts/ for people to look at. In Chinese, the text as rendered, what the pages'
scripts wrote included, holds no English beyond what was stored as typed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from .browser_env import CAST, PASSWORD, _login, _shot
from .test_zh_walk import LATIN_OK

pytestmark = pytest.mark.slow

SIZES = ((1366, 768), (1920, 1080))
LOCALES = ("en-US", "zh-CN")
# Pages reached from the navigation rather than in it.
REACHED = ("/cameras/1", "/playback?camera=1&camera=2")

# What runs off the right edge: the document itself, and any element wider than the viewport
# that no scrolling box of its own (overflow-x auto/scroll) holds.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  if (document.documentElement.scrollWidth > width + 1) {
    found.push(`the page is ${document.documentElement.scrollWidth}px wide in ${width}px`);
  }
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    let held = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const x = getComputedStyle(up).overflowX;
      if (x === "auto" || x === "scroll" || x === "hidden" || x === "clip") { held = true; break; }
    }
    if (held) continue;
    const tag = el.tagName.toLowerCase();
    const name = el.id ? `#${el.id}` : el.className ? `${tag}.${el.className}` : tag;
    found.push(`${name} ends at ${Math.round(box.right)}px`);
    if (found.length > 5) break;
  }
  return found;
}"""


# What this installation stores, in whatever language it was typed (tests/browser_env.py,
# tests/grant_setup.py), taken out of a page's text before it is read for English: camera
# names and places, organisations, the request's purpose and document, people's names.
STORED = (
    "Gate cam1",
    "Gate cam2",
    "gate",
    "City Public Security Bureau",
    "Operating unit",
    "case investigation",
    "调取证据通知书.pdf",
)
PEOPLE = re.compile(r"\b(?:admin|manager|officer\d*|(?:external|security)-[0-9a-f]{6})\b", re.I)
# Paths and the zone's IANA name are tokens, not words.
TOKENS = re.compile(r"(?:/[\w.-]+)+/?|\b[A-Z][a-z]+/[A-Za-z_]+\b")


def _english(text: str) -> list[str]:
    """English words left in a Chinese page's rendered text (the scripts' output included,
    which tests/test_zh_walk.py, reading the server's HTML, cannot see)."""
    for stored in STORED:
        text = text.replace(stored, " ")
    text = TOKENS.sub(" ", PEOPLE.sub(" ", text))
    words = re.findall(r"[A-Za-z][A-Za-z'_-]{2,}", text)
    return sorted({w for w in words if w not in LATIN_OK})


@pytest.fixture
def with_data(view_grants: Callable[..., None]) -> None:
    """A request approved into a grant on both cameras, made once for the module: the request,
    grant and register pages then have rows to lay out, not only their empty notes."""
    if "layout-holder" not in CAST:
        now = int(time.time() * 1e6)
        view_grants("layout-holder", [(now - 7200_000_000, now - 3600_000_000)], cameras=(1, 2))


@pytest.fixture
def opened(browser: Browser) -> Iterator[list[Page]]:
    pages: list[Page] = []
    yield pages
    for p in pages:
        p.context.close()


def _walk(
    browser: Browser, server: str, opened: list[Page], who: str, locale: str, size: tuple[int, int]
) -> list[str]:
    context = browser.new_context(
        locale=locale, viewport={"width": size[0], "height": size[1]}, ignore_https_errors=True
    )
    p = context.new_page()
    opened.append(p)
    if who == "admin":
        _login(p, server, PASSWORD, "admin")
    else:
        _login(p, server, CAST[who].password, CAST[who].username)
    p.wait_for_url(lambda url: "/login" not in url)
    links = p.eval_on_selector_all(
        "header nav a", "links => links.map(a => a.getAttribute('href'))"
    )
    paths = list(dict.fromkeys([*links, *REACHED]))
    problems: list[str] = []
    for path in paths:
        p.goto(f"{server}{path}", wait_until="load")
        p.wait_for_timeout(300)  # the page's scripts fill in what they fetch
        for found in p.evaluate(OVERFLOW):
            problems.append(f"{who} {locale} {size[0]}×{size[1]} {path}: {found}")
        if locale == "zh-CN":
            for word in _english(p.evaluate("() => document.body.innerText")):
                problems.append(f"{who} {locale} {path}: English {word!r} in the rendered page")
        name = urlsplit(path).path.strip("/").replace("/", "-") or "home"
        _shot(p, f"layout-{who}-{locale}-{size[0]}x{size[1]}-{name}.png")
    return problems


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.usefixtures("with_data")
def test_every_page_of_the_administrator_fits_the_screen(
    browser: Browser, server: str, opened: list[Page], locale: str, size: tuple[int, int]
) -> None:
    problems = _walk(browser, server, opened, "admin", locale, size)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("who", ["manager", "officer1", "layout-holder"])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.usefixtures("with_data")
def test_every_page_of_the_other_roles_fits_the_smaller_screen(
    browser: Browser, server: str, opened: list[Page], who: str, locale: str
) -> None:
    problems = _walk(browser, server, opened, who, locale, SIZES[0])
    assert not problems, "\n".join(problems)


def test_the_check_sees_what_runs_off_the_edge(
    browser: Browser, server: str, opened: list[Page]
) -> None:
    """The walk's check is not blind: a table made wider than the screen is found."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, ignore_https_errors=True)
    p = context.new_page()
    opened.append(p)
    _login(p, server, PASSWORD, "admin")
    p.wait_for_url(lambda url: "/login" not in url)
    assert p.evaluate(OVERFLOW) == []
    p.evaluate(
        """() => { const t = document.createElement("table"); t.id = "too-wide";
        t.style.width = "3000px"; document.querySelector("main").append(t); }"""
    )
    found = p.evaluate(OVERFLOW)
    assert any("#too-wide" in f for f in found), found
