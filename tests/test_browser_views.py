"""The operator's console in a real browser (issue 12): sites and groups made on their page,
a camera placed in the camera form, the live tree showing site → group → camera; a grid saved
as a view and opened again after a reload; and the 16-tile grid playing all sixteen — in
English at 1366×768 and in Chinese at 1920×1080, with screenshots in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from .browser_env import PASSWORD, _api, _at, _login, _shot

pytestmark = pytest.mark.slow

SCREENS: dict[str, ViewportSize] = {
    "en-US": {"width": 1366, "height": 768},
    "zh-CN": {"width": 1920, "height": 1080},
}
# the names typed, per language: user data, shown as typed
NAMES = {
    "en-US": ("North campus", "Main gates", "Morning round"),
    "zh-CN": ("东校区 East", "大门 <b>", "夜班巡视"),
}


@contextmanager
def _page(browser: Browser, server: str, locale: str) -> Iterator[Page]:
    context = browser.new_context(locale=locale, viewport=SCREENS[locale], ignore_https_errors=True)
    p = context.new_page()
    console: list[str] = []
    p.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    _login(p, server)
    p.wait_for_url(_at("/live"))
    yield p
    context.close()
    assert console == []


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_site_and_group_made_in_the_ui_shape_the_tree_and_a_view_opens_again(
    server: str, browser: Browser, locale: str
) -> None:
    site, group, view = NAMES[locale]
    tag = locale[:2]
    with _page(browser, server, locale) as p:
        p.goto(f"{server}/cameras")
        p.click("#to-sites")
        p.wait_for_url(_at("/sites"))
        p.fill("#site-add-name", site)
        p.click("#site-add-button")
        p.wait_for_selector(f"tr[data-site] input[value='{site}']")
        p.fill("#site-add-name", site)  # the same name again: refused, said in the language
        p.click("#site-add-button")
        p.wait_for_selector("#sites-error", state="visible")
        said = p.inner_text("#sites-error")
        assert (site in said) and (("已有" in said) if tag == "zh" else ("already" in said))
        p.fill("#group-add-name", group)
        p.select_option("#group-add-site", label=site)
        p.click("#group-add-button")
        # this group's row, once the page has reloaded: the other language's run left a row
        # of its own, which matched before the reload and let it cut the next navigation
        p.wait_for_function(
            "g => [...document.querySelectorAll('tr[data-group] input.group-name')]"
            ".some((i) => i.value === g)",
            arg=group,
        )
        p.wait_for_load_state()
        _shot(p, f"sites-{tag}.png")

        # camera 1 at the site, in the group, from its form
        p.goto(f"{server}/cameras/1/edit")
        p.select_option("#camera-site", label=site)
        p.locator("#camera-groups label", has_text=group).locator("input").check()
        p.click("#camera-save")
        p.wait_for_url(_at("/cameras/1"))

        p.goto(f"{server}/live?layout=4")
        branch = p.locator("#camera-tree details.tree-site", has_text=site)
        assert branch.locator("details.tree-group summary").inner_text().startswith(group)
        assert branch.locator("details.tree-group .tree-camera").inner_text() == "Gate cam1"
        no_site = p.locator("#camera-tree details.tree-site").last
        assert (
            no_site.locator("summary")
            .inner_text()
            .startswith("未设场所" if tag == "zh" else "No site")
        )
        _shot(p, f"live-tree-{tag}.png")

        # a grid of camera 2 alone in slot 0, saved, reloaded, opened from the list
        p.goto(f"{server}/live?layout=1&page=2")
        assert p.get_attribute("#live-grid video.live", "data-camera") == "2"
        p.fill("#view-name", view)
        p.click("#view-save-button")
        p.wait_for_url(lambda url: "view=" in url)
        p.reload()
        assert p.inner_text("#opened-view") == view
        p.goto(f"{server}/live?layout=4")
        p.select_option("#view-open", label=view)
        p.wait_for_url(lambda url: "view=" in url)
        slots: Any = p.eval_on_selector_all(
            "#live-grid .tile",
            "ts => ts.map(t => t.querySelector('video.live')?.dataset.camera ?? null)",
        )
        assert slots == ["2"]
        _shot(p, f"live-view-{tag}.png")
        p.click("#view-delete")
        p.wait_for_url(lambda url: "view=" not in url)
        assert p.locator("#view-open option", has_text=view).count() == 0


_COUNT_PLAYED = """() => {
  for (const v of document.querySelectorAll('#live-grid video.live')) {
    let last = v.currentTime;
    v.dataset.played = 0;
    v.addEventListener('timeupdate', () => {
      const step = v.currentTime - last;
      if (step > 0 && step < 2) v.dataset.played = Number(v.dataset.played) + step;
      last = v.currentTime;
    });
  }
}"""


def test_the_16_tile_grid_plays_all_16(server: str, browser: Browser) -> None:
    with _api(server, "admin", PASSWORD) as c:
        cams = c.get("/cameras").json()
        urls = [cam["url"] for cam in cams[:2]]
        for i in range(16 - len(cams)):
            extra = {"name": f"Extra {i}", "url": urls[i % 2], "place": "gate"}
            made = c.post("/cameras", json=extra)
            assert made.status_code == 201, made.text
    for locale in ("zh-CN", "en-US"):
        with _page(browser, server, locale) as p:
            p.goto(f"{server}/live?layout=16")
            assert p.locator("#live-grid video.live").count() == 16
            p.wait_for_function(
                "() => [...document.querySelectorAll('#live-grid video.live')]"
                ".every(v => v.currentTime > 1.0)",
                timeout=120_000,
            )
            # then every tile plays on: a second more of footage each, counted as it plays
            # (a tile the hub restarts under load starts again from 0, and still counts)
            p.evaluate(_COUNT_PLAYED)
            p.wait_for_function(
                "() => [...document.querySelectorAll('#live-grid video.live')]"
                ".every(v => v.dataset.played > 1.0)",
                timeout=60_000,
            )
            _shot(p, f"live-16-{locale[:2]}.png")
