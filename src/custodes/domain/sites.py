"""Sites and camera groups: the rules of their names, and the live page's camera tree.

Names are what people type (any script, any language): kept as typed but for the spaces
around them, 1 to NAME_MAX characters, no control characters (a line break or a NUL in a name
breaks every list that shows it). The tree is pure: it is given ids and names, and says where
each visible camera is shown.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

NAME_MAX = 64  # schema.sites.name, schema.camera_groups.name


class SiteFieldError(ValueError):
    """Invalid input for one named field of a site, a group or a camera's placement."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def clean_name(value: str, field_name: str = "name") -> str:
    """The name as stored: stripped; SiteFieldError when empty, too long or with a control
    character in it."""
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise SiteFieldError(field_name, f"1 to {NAME_MAX} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise SiteFieldError(field_name, "must not contain control characters")
    return name


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    site_id: int | None


@dataclass(frozen=True)
class GroupNode:
    name: str
    cameras: tuple[int, ...]


@dataclass(frozen=True)
class SiteNode:
    """A site's branch (name None: the cameras and groups of no site): its groups that hold a
    visible camera, then its cameras in none of those groups."""

    name: str | None
    groups: tuple[GroupNode, ...]
    cameras: tuple[int, ...]

    @property
    def count(self) -> int:
        return len({*self.cameras, *(c for g in self.groups for c in g.cameras)})


def camera_tree(
    cameras: Sequence[int],
    sites: Mapping[int, str],
    groups: Sequence[Group],
    site_of: Mapping[int, int],
    members: Mapping[int, Set[int]],
) -> list[SiteNode]:
    """site → group → camera over the `cameras` shown (in their order): sites by name, the
    branch of no site last. Strictly a tree of sites: a camera is only in its own site's
    branch, under each of that site's groups it is in (a group within no site holds, in the
    branch of no site, the cameras at no site), or, in none of them, at the branch itself.
    Branches and groups with no shown camera are left out (a duty operator sees only the
    cameras assigned)."""
    shown = list(dict.fromkeys(cameras))
    branches: list[SiteNode] = []
    order = sorted(sites.items(), key=lambda item: (item[1].casefold(), item[0]))
    for site_id, site_name in [*order, (None, None)]:
        here = [c for c in shown if site_of.get(c) == site_id]
        nodes = []
        grouped: set[int] = set()
        for g in sorted(groups, key=lambda g: (g.name.casefold(), g.id)):
            if g.site_id != site_id:
                continue
            inside = tuple(c for c in here if c in members.get(g.id, ()))
            if inside:
                nodes.append(GroupNode(g.name, inside))
                grouped.update(inside)
        rest = tuple(c for c in here if c not in grouped)
        if nodes or rest:
            branches.append(SiteNode(site_name, tuple(nodes), rest))
    return branches
