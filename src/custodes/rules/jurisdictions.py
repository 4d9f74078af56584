"""Load a jurisdiction's retention floors and articles from `rules/jurisdictions/<id>.toml`."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from custodes.domain.retention import IMPORTANT_DEFAULT, Floor, Jurisdiction

FOLDER = Path(__file__).with_name("jurisdictions")


def known() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.toml"))


@cache
def load(jurisdiction_id: str) -> Jurisdiction:
    path = FOLDER / f"{jurisdiction_id}.toml"
    if not path.is_file():
        raise ValueError(f"jurisdiction: no rules for {jurisdiction_id!r} (known: {known()})")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return Jurisdiction(
        id=raw["id"],
        name=raw["name"],
        name_zh=raw["name_zh"],
        source=raw["source"],
        video=_floor(raw["video"]),
        no_deletion_article=raw["no_deletion"]["article"],
        key_target=_floor(raw["key_target"]) if "key_target" in raw else None,
        important=_floor(raw["important"]) if "important" in raw else IMPORTANT_DEFAULT,
        logs=_floor(raw["logs"]) if "logs" in raw else None,
    )


def _floor(table: dict[str, Any]) -> Floor:
    return Floor(int(table["days"]), str(table["article"]))
