"""`custodes export` (a bundle under a copy grant, as a named account) and
`custodes verify-export` (check a bundle with nothing but the bundle: no database, no
network). Registered by cli.py.

verify-export's exit status: 0 verified (consistent, and signed by a pinned key), 1 not
verified (each problem named; with --strict, warnings too), 2 the bundle or the key file
cannot be read, 3 consistent but the signer is unknown (no --key: nothing proves who made it).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from custodes.adapters.bundle import copy_bundle, write_zip
from custodes.clock import iso
from custodes.domain import export_format as fmt
from custodes.domain.export_judgement import Outcome, Verdict
from custodes.entrypoints.cli_common import DataOpt, JsonOpt, context, fail, out
from custodes.entrypoints.cli_integrity import parse_time
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.services import auth, exports, grants
from custodes.services import cameras as camera_service
from custodes.services import verify_export as verifier
from custodes.services.signing import PUBLIC_KEYS_FILE

EXIT_STATUS = {Outcome.VERIFIED: 0, Outcome.NOT_VERIFIED: 1, Outcome.SIGNER_UNKNOWN: 3}
EXIT_UNREADABLE = 2


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
        f"written to {out_path}; the recipient checks it with `custodes verify-export "
        f"{out_path} --key FILE`, FILE being this installation's "
        f"{ctx.data.archive / PUBLIC_KEYS_FILE} (or `custodes keys export`), handed over "
        "apart from the bundle",
        highlight=False,
        soft_wrap=True,
    )


def verify_export(
    bundle: Annotated[Path, typer.Argument(help="The bundle directory, or its zip.")],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="Trust only these keys, obtained from the operating unit out of band: "
            "`custodes keys export` output, its archive/public-keys.jsonl, a PEM or hex "
            "public key. Without it the signer is unknown (exit status 3).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(help="Warnings (an unsigned tail, stray files …) fail too."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check an export bundle: file digests, the hash chain, the signed checkpoints, the
    manifest's signature and who signed it. Needs no database and no network. Exit 0:
    verified against a pinned key; 1: not verified, each problem named; 2: unreadable; 3:
    consistent, but no key pinned, so nothing proves who made it."""
    try:
        pinned = None if key is None else verifier.load_pinned_keys(key)
        verdict = verifier.verify_bundle(bundle, pinned=pinned)
    except (verifier.KeyFileError, verifier.BundleUnreadable) as exc:
        raise fail(str(exc), EXIT_UNREADABLE) from None
    outcome = verdict.outcome(strict=strict)
    if as_json:
        report = verifier.to_json(verdict, strict=strict, bundle=str(bundle))
        out.print_json(json.dumps({**report, "exit_status": EXIT_STATUS[outcome]}))
    else:
        _print(verdict, outcome, bundle)
    raise typer.Exit(EXIT_STATUS[outcome])


def _print(v: Verdict, outcome: Outcome, bundle: Path) -> None:
    m = v.manifest
    if m is not None:
        gaps = m.covered.gaps
        gap_note = f", {len(gaps)} gap(s) not in the clip" if gaps else ""
        lines = [
            f"export {m.export.id}, made {fmt.iso(m.export.created_us)} by "
            f"{m.export.exporter.username}",
            f"camera {m.camera.id} {m.camera.name!r} ({m.camera.place})",
            f"requested {fmt.iso(m.requested.start_us)} – {fmt.iso(m.requested.end_us)}",
            f"covered   {fmt.iso(m.covered.start_us)} – {fmt.iso(m.covered.end_us)} "
            f"({len(m.segments)} segments{gap_note})",
            f"grant {m.grant.id} ({m.grant.action}), request {m.request.id} of "
            f"{m.request.organisation.name}; destination: {m.request.destination or '-'}",
            f"clip.mp4 sha256 {m.clip.sha256}",
            "original segment files: "
            + (
                "included (re-hashed)"
                if m.originals_included
                else "not included (copy grant): their digests are vouched for by the signed chain"
            ),
            f"manifest signed by key {m.signer.key_id} (public key {m.signer.public_key})",
            "checkpoints signed by key(s) "
            + (", ".join(v.checkpoint_key_ids) or "none")
            + (
                ""
                if v.signed_through_seq is None
                else f"; chain signed through seq {v.signed_through_seq}"
            ),
        ]
        # what the bundle says is printed as text, never read as markup: a forged name
        # such as "[/]" must not take the output apart
        out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
    for f in v.findings:
        colour, word = ("red", "FAIL") if f.failure else ("yellow", "WARN")
        out.print(f"[{colour}]{word}[/] {escape(str(f))}", highlight=False, soft_wrap=True)
    warned = f" ({len(v.warnings)} warning(s))" if v.warnings else ""
    if outcome is Outcome.NOT_VERIFIED:
        n = len(v.failures) or len(v.warnings)
        out.print(f"[red]NOT VERIFIED[/]: {n} problem(s)", highlight=False, soft_wrap=True)
    elif outcome is Outcome.SIGNER_UNKNOWN:
        key_id = v.signer_key_id or "?"
        out.print(
            f"[yellow]SIGNER UNKNOWN[/]: consistent — every file, link, checkpoint and the "
            f"signature agree{warned} — but nothing proves who made this bundle: it is signed "
            f"by key {key_id}, no --key pins it, and anyone can make a consistent bundle with "
            f"a key of their own.\n{escape(verifier.pin_advice(bundle))}",
            highlight=False,
            soft_wrap=True,
        )
    elif v.warnings:
        out.print(
            f"[yellow]verified with {len(v.warnings)} warning(s)[/]: signed by a pinned key",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print(
            "[green]verified[/]: every file, link, checkpoint and the signature agree, "
            "and the signer is a pinned key",
            highlight=False,
            soft_wrap=True,
        )
