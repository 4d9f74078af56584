"""`custodes export` (a bundle under a copy grant, as a named account) and
`custodes verify-export` (check a bundle with nothing but the bundle: no database, no
network). Registered by cli.py."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from custodes.adapters.bundle import copy_bundle, write_zip
from custodes.clock import iso
from custodes.domain import export_manifest as em
from custodes.entrypoints.cli_common import DataOpt, JsonOpt, context, fail, out
from custodes.entrypoints.cli_integrity import parse_time
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.services import auth, exports, grants
from custodes.services import cameras as camera_service
from custodes.services import verify_export as verifier


def export(
    grant: Annotated[int, typer.Option("--grant", help="The copy grant's id.")],
    camera: Annotated[str, typer.Option("--camera", help="Camera id or name.")],
    since: Annotated[str, typer.Option("--from", help="Start (ISO 8601 with zone).")],
    until: Annotated[str, typer.Option("--to", help="End (ISO 8601 with zone).")],
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Where the bundle goes: a new (or empty) directory, or a file ending in .zip.",
        ),
    ],
    user: Annotated[
        str,
        typer.Option("--as", help="The account that holds the grant (its password is asked)."),
    ],
    password: Annotated[
        str | None,
        typer.Option(envvar="CUSTODES_PASSWORD", help="Password (else asked).", show_default=False),
    ] = None,
    totp: Annotated[
        str | None, typer.Option(help="The current TOTP code, if the account has TOTP.")
    ] = None,
    watermark: Annotated[
        bool, typer.Option(help="Also a re-encoded copy with a visible watermark (slow).")
    ] = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a camera's footage under a copy grant: one MP4 made from the sealed segments by
    stream copy and a signed manifest that `custodes verify-export` checks (under a
    retrieve-original grant, the sealed segment files too)."""
    ctx = context(data)
    start_us, end_us = parse_time(since, "from"), parse_time(until, "to")
    zipped = out_path.suffix.lower() == ".zip"
    if out_path.exists() and (zipped or not out_path.is_dir() or any(out_path.iterdir())):
        raise fail(f"--out: {out_path} exists (give a new path or an empty directory)")
    try:
        camera_id = camera_service.find_camera(ctx, camera).id
    except camera_service.CameraNotFound as exc:
        raise fail(str(exc)) from None
    secret = password if password is not None else getpass.getpass(f"password for {user}: ")
    session = auth.login(ctx, user, secret, totp)
    if session is None:
        raise fail("wrong user, password or code (or the account is locked or disabled)")
    auth.logout(ctx, session.token)
    try:
        held = exports.require_grant(
            ctx,
            grant_id=grant,
            account_id=session.account_id,
            username=session.username,
            camera_id=camera_id,
            start_us=start_us,
            end_us=end_us,
        )
        result = exports.create_export(
            ctx,
            grant=held,
            account_id=session.account_id,
            username=session.username,
            camera_id=camera_id,
            start_us=start_us,
            end_us=end_us,
            watermark=watermark,
        )
    except (grants.NoGrant, exports.ExportError) as exc:
        raise fail(str(exc), 1) from None
    exports.record_download(
        ctx, result, username=session.username, via=f"{cli_actor()} --out {out_path}"
    )
    if zipped:
        write_zip(result.path, out_path)
    else:
        copy_bundle(result.path, out_path)
    if as_json:
        out.print_json(json.dumps({**result.to_json(), "out": str(out_path)}))
        return
    out.print(
        f"export [bold]{result.id}[/]: camera {camera_id}, {result.segments} segments covering "
        f"{iso(result.covered_start_us)} – {iso(result.covered_end_us)}\n"
        f"manifest sha256 {result.manifest_sha256}\n"
        f"written to {out_path}; check it with `custodes verify-export {out_path}`",
        highlight=False,
        soft_wrap=True,
    )


def verify_export(
    bundle: Annotated[Path, typer.Argument(help="The bundle directory, or its zip.")],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="Trust only these keys: `custodes keys export` output, public-keys.jsonl, a "
            "PEM or hex public key.",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            help="Warnings (an unpinned signer key, an unsigned tail, stray files) fail too."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check an export bundle: file digests, the hash chain, the signed checkpoints, the
    manifest's signature and who signed it. Needs no database and no network. Exit 0: it
    verifies; 1: each problem is named."""
    try:
        pinned = None if key is None else verifier.load_pinned_keys(key)
        verdict = verifier.verify_bundle(bundle, pinned=pinned)
    except (verifier.KeyFileError, verifier.BundleUnreadable) as exc:
        raise fail(str(exc)) from None
    failed = verdict.failed or (strict and bool(verdict.warnings))
    if as_json:
        out.print_json(json.dumps(verifier.to_json(verdict)))
    else:
        _print(verdict, failed)
    raise typer.Exit(1 if failed else 0)


def _print(v: em.Verdict, failed: bool) -> None:
    m = v.manifest
    if m is not None:
        gaps = f", {len(m.gaps)} gap(s) not in the clip" if m.gaps else ""
        lines = [
            f"export {m.export_id}, made {em.iso(m.created_us)} by {m.exporter.username}",
            f"camera {m.camera.id} {m.camera.name!r} ({m.camera.place})",
            f"requested {em.iso(m.requested.start_us)} – {em.iso(m.requested.end_us)}",
            f"covered   {em.iso(m.covered.start_us)} – {em.iso(m.covered.end_us)} "
            f"({len(m.segments)} segments{gaps})",
            f"grant {m.grant.id} ({m.grant.action}), request {m.request.id} of "
            f"{m.request.organisation.name}; destination: {m.request.destination or '-'}",
            f"clip.mp4 sha256 {m.clip.sha256}",
            "original segment files: "
            + (
                "included (re-hashed)"
                if m.originals_included
                else "not included (copy grant): their digests are vouched for by the signed chain"
            ),
            f"manifest signed by key {m.signer_key_id} (public key {m.signer_public_key})",
            "checkpoints signed by key(s) "
            + (", ".join(v.checkpoint_key_ids) or "none")
            + (
                ""
                if v.signed_through_seq is None
                else f"; chain signed through seq {v.signed_through_seq}"
            ),
        ]
        out.print("\n".join(lines), highlight=False, soft_wrap=True)
    for f in v.findings:
        colour, word = ("red", "FAIL") if f.failure else ("yellow", "WARN")
        out.print(f"[{colour}]{word}[/] {f}", highlight=False, soft_wrap=True)
    if failed:
        n = sum(1 for f in v.findings if f.failure) or len(v.warnings)
        out.print(f"[red]NOT VERIFIED[/]: {n} problem(s)", highlight=False, soft_wrap=True)
        return
    others = len(v.warnings) - (0 if v.pinned else 1)  # unpinned: one warning says so
    more = f" ({others} other warning(s))" if others else ""
    if not v.pinned:
        out.print(
            "[yellow]verified against the bundle's own key only — pin the installation key "
            f"with --key[/]{more}",
            highlight=False,
            soft_wrap=True,
        )
    elif others:
        out.print(f"[yellow]verified with {others} warning(s)[/]", highlight=False, soft_wrap=True)
    else:
        out.print("[green]verified[/]: every file, link, checkpoint and the signature agree")
