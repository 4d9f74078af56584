"""Saved live views: which layouts a grid has, what a view may hold, and how a stored view is
shown.

A view is checked where it comes in (`checked_view`) and read back by `shown_slots`, which is
total: whatever is stored — a camera retired since, one no longer shown to the person, a slot
list of another shape, text that is not a list at all — gives a grid of the view's layout
with those slots empty, never an error.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from custodes.domain.sites import NAME_MAX, SiteFieldError, clean_name

# Slots per live layout: square grids, and 6 and 8 with one large tile (a 2×2 or 3×3 corner).
LAYOUTS = (1, 4, 6, 8, 9, 16, 25)
DEFAULT_LAYOUT = 4
VIEW_NAME_MAX = NAME_MAX
ID_MAX = 2**31 - 1  # adapters/db/limits.py: an id no row can have is refused here already


class ViewFieldError(SiteFieldError):
    """Invalid input for one named field of a saved view."""


@dataclass(frozen=True)
class ViewSpec:
    name: str
    layout: int
    slots: tuple[int | None, ...]


def checked_view(name: str, layout: int, slots: Sequence[int | None]) -> ViewSpec:
    """A view as it may be stored: its name cleaned, its layout one of LAYOUTS, its slots
    camera ids or None, as many as the layout has (fewer are padded with None)."""
    try:
        cleaned = clean_name(name)
    except SiteFieldError as exc:
        raise ViewFieldError(exc.field, exc.message) from None
    if layout not in LAYOUTS:
        raise ViewFieldError("layout", f"one of {', '.join(map(str, LAYOUTS))}")
    if len(slots) > layout:
        raise ViewFieldError("slots", f"at most {layout} cameras in this layout")
    for slot in slots:
        if slot is not None and not (isinstance(slot, int) and 1 <= slot <= ID_MAX):
            raise ViewFieldError("slots", "no camera " + str(slot)[:24])
    padded = (*slots, *([None] * (layout - len(slots))))
    return ViewSpec(cleaned, layout, padded)


def shown_slots(layout: object, stored: object, visible: Collection[int]) -> list[int | None]:
    """The grid a stored view opens as: `layout` slots (the default layout's when the stored
    one is not a layout), each the stored camera if it is `visible` to the person now, else
    None."""
    size = layout if isinstance(layout, int) and layout in LAYOUTS else DEFAULT_LAYOUT
    items = list(stored) if isinstance(stored, list | tuple) else []
    out: list[int | None] = []
    for i in range(size):
        item = items[i] if i < len(items) else None
        ok = isinstance(item, int) and not isinstance(item, bool) and item in visible
        out.append(item if ok and isinstance(item, int) else None)
    return out
