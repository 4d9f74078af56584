"""The design system (issue 12, "How": a design system in one stylesheet — spacing, colours,
states — no inline styles): static/app.css names every colour once, as a token of its :root
block, and spaces by its spacing tokens; the templates carry no style attribute (the CSP
refuses inline styles anyway: a page styled inline would silently lose it)."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).parents[1] / "src" / "custodes" / "entrypoints" / "web"
CSS = (WEB / "static" / "app.css").read_text(encoding="utf-8")

COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgb|rgba|hsl|hsla)\(|\b(?:white|black|red)\b")
SPACING = re.compile(r"^(?:margin|padding|gap|row-gap|column-gap)(?:-[a-z]+)?$")
# a spacing value: a token, 0, auto, a hairline (≤ 3px) or a unit relative to the text or
# the screen
SPACE_OK = re.compile(r"var\(--s\d+\)|0|auto|[123]px|-?[\d.]+(?:em|rem|vh|vw|%)")


def _rules() -> list[tuple[str, str, str]]:
    """(selector, property, value) of every declaration."""
    text = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    found = []
    for selector, body in re.findall(r"([^{}]*)\{([^{}]*)\}", text):
        for prop, value in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body):
            found.append((selector.strip(), prop, value.strip()))
    return found


def test_every_colour_is_a_token_named_once() -> None:
    literal = [
        (sel, prop, value)
        for sel, prop, value in _rules()
        if sel != ":root" and COLOUR.search(value)
    ]
    assert literal == [], "use a colour token of :root (app.css section 1)"
    tokens = [p for sel, p, _ in _rules() if sel == ":root"]
    assert len(tokens) == len(set(tokens)) and len(tokens) > 20


def test_spacing_uses_the_scale() -> None:
    off_scale = [
        (sel, prop, value)
        for sel, prop, value in _rules()
        if SPACING.match(prop) and not all(SPACE_OK.fullmatch(v) for v in value.split())
    ]
    assert off_scale == [], "space by var(--s1) … var(--s4) (app.css section 1)"


def test_every_token_used_is_defined_and_every_one_defined_is_used() -> None:
    defined = {p for sel, p, _ in _rules() if sel == ":root"}
    used = set(re.findall(r"var\((--[\w-]+)", CSS)) - {"--grid-top"}  # set by live-grid.js
    assert used - defined == set()
    assert defined - used == set()


def test_no_template_styles_inline() -> None:
    inline = [
        f"{path.name}:{n}"
        for path in sorted((WEB / "templates").glob("*.html"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\sstyle\s*=|<style\b", line)
    ]
    assert inline == []
