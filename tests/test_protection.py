"""Sealed files cannot be changed or removed: 0400 always, chattr +i where allowed (root on a
filesystem that supports it); `status` says which is in force. The sweep still removes
expired files."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from custodes.adapters import archive
from custodes.domain.retention import DAY_US
from custodes.services.context import Context
from custodes.services.status import protection
from custodes.services.sweep import sweep

from .sealed import SEGMENTS, seal_archive


@pytest.fixture
def immutable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(archive.IMMUTABLE_ENV, "auto")
    yield


def test_sealed_files_are_immutable_where_allowed(immutable: None, ctx: Context) -> None:
    mode = archive.protection_in_force(ctx.data.archive)
    assert protection(ctx) == mode
    if mode != "immutable":
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail("CI runs as root on ext4: chattr +i must be in force there")
        pytest.skip(f"NOTICE: chattr +i not allowed here ({os.geteuid()=}); 0444 only")
    a = seal_archive(ctx)
    try:
        target = a.path(3)
        assert archive.is_immutable(target)
        with pytest.raises(PermissionError):
            target.open("r+b")
        with pytest.raises(PermissionError):
            target.unlink()
        with pytest.raises(PermissionError):
            os.rename(target, target.with_suffix(".moved"))
        # past retention the sweep lifts the flag and deletes
        now = [a.end_us(SEGMENTS - 1) + 16 * DAY_US]
        ctx.clock = lambda: now[0]
        assert sweep(ctx).segments == SEGMENTS
        assert not target.exists()
    finally:
        for path in ctx.data.archive.rglob("*.mp4"):
            archive.make_mutable(path)


def test_read_only_without_the_flag(ctx: Context) -> None:
    a = seal_archive(ctx)
    target = a.path(0)
    assert not archive.is_immutable(target)  # tests run with CUSTODES_IMMUTABLE=off
    assert target.stat().st_mode & 0o777 == 0o400  # read-only, for the owner alone
    assert protection(ctx) == "read-only"
