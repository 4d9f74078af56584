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
from custodes.domain.export_judgement import Outcome, Verdict
from custodes.entrypoints.cli_common import (
    FROM_HELP,
    TO_HELP,
    DataOpt,
    JsonOpt,
    context,
    fail,
    inert,
    local_when,
    out,
    site_when,
)
from custodes.entrypoints.cli_i18n import LANG, _, say
from custodes.entrypoints.cli_integrity import parse_time
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.entrypoints.web import said, wording
from custodes.entrypoints.web.labels import ACTION_LABELS
from custodes.services import auth, exports, grants
from custodes.services import cameras as camera_service
from custodes.services import verify_export as verifier
from custodes.services.settings import site_timezone
from custodes.services.signing import PUBLIC_KEYS_FILE

EXIT_STATUS = {Outcome.VERIFIED: 0, Outcome.NOT_VERIFIED: 1, Outcome.SIGNER_UNKNOWN: 3}
EXIT_UNREADABLE = 2


def export(
    grant: Annotated[int, typer.Option("--grant", help="The copy grant's id.")],
    camera: Annotated[str, typer.Option("--camera", help="Camera id or name.")],
    since: Annotated[str, typer.Option("--from", help=FROM_HELP)],
    until: Annotated[str, typer.Option("--to", help=TO_HELP)],
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
    start_us, end_us = parse_time(ctx, since, "from"), parse_time(ctx, until, "to")
    zipped = out_path.suffix.lower() == ".zip"
    if out_path.exists() and (zipped or not out_path.is_dir() or any(out_path.iterdir())):
        exists = _("--out: %(path)s exists (give a new path or an empty directory)")
        raise fail(exists % {"path": out_path})
    try:
        camera_id = camera_service.find_camera(ctx, camera).id
    except camera_service.CameraNotFound:
        raise fail(_("camera: no camera %(ref)s") % {"ref": repr(camera[:24])}) from None
    asked = _("password for %(user)s: ") % {"user": user}
    secret = password if password is not None else getpass.getpass(asked)
    session = auth.login(ctx, user, secret, totp)
    if session is None:
        raise fail(_("wrong user, password or code (or the account is locked or disabled)"))
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
    except (grants.NoGrant, exports.NothingRecorded) as exc:  # the web's words, the site's zone
        raise fail(wording.no_grant(exc, LANG, site_timezone(ctx)), 1) from None
    except exports.ExportError as exc:
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
    made = _(
        "export %(id)s: camera %(camera)s, %(n)s segments covering %(start)s – %(end)s\n"
        "manifest sha256 %(sha)s\n"
        "written to %(out)s; the recipient checks it with `custodes verify-export %(out)s "
        "--key FILE`, FILE being this installation's %(keys)s (or `custodes keys export`), "
        "handed over apart from the bundle"
    )
    shown = {
        "id": f"[bold]{result.id}[/]",
        "camera": camera_id,
        "n": result.segments,
        "start": site_when(result.covered_start_us, site_timezone(ctx)),
        "end": site_when(result.covered_end_us, site_timezone(ctx)),
        "sha": result.manifest_sha256,
        "out": out_path,
        "keys": ctx.data.archive / PUBLIC_KEYS_FILE,
    }
    out.print(made % shown, highlight=False, soft_wrap=True)


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
        shown = {name: inert(value) for name, value in exc.params.items()}
        raise fail(say(exc.msgid, shown), EXIT_UNREADABLE) from None
    outcome = verdict.outcome(strict=strict)
    if as_json:
        report = verifier.to_json(verdict, strict=strict, bundle=str(bundle))
        out.print_json(json.dumps({**report, "exit_status": EXIT_STATUS[outcome]}))
    else:
        _print(verdict, outcome, bundle)
    raise typer.Exit(EXIT_STATUS[outcome])


MANIFEST_LINES = (  # msgids (locale/*.po), each filled in with what the manifest says
    "export %(export)s, made %(made)s by %(by)s",
    "camera %(camera)s %(name)s (%(place)s)",
    "requested %(requested_start)s – %(requested_end)s",
    "covered   %(covered_start)s – %(covered_end)s (%(n)s segments%(gaps)s)",
    "grant %(grant)s (%(action)s), request %(request)s of %(organisation)s; destination: "
    "%(destination)s",
    "clip.mp4 sha256 %(sha)s",
    "original segment files: %(originals)s",
    "manifest signed by key %(key)s (public key %(public_key)s)",
    "checkpoints signed by key(s) %(keys)s%(through)s",
)


def _print(v: Verdict, outcome: Outcome, bundle: Path) -> None:
    m = v.manifest
    if m is not None:
        gaps = m.covered.gaps
        gap_note = _(", %(n)s gap(s) not in the clip") % {"n": len(gaps)} if gaps else ""
        originals = (
            _("included (re-hashed)")
            if m.originals_included
            else _("not included (copy grant): their digests are vouched for by the signed chain")
        )
        through = ""
        if v.signed_through_seq is not None:
            through = _("; chain signed through seq %(seq)s") % {"seq": v.signed_through_seq}
        shown = {
            "export": m.export.id,
            "made": local_when(m.export.created_us),
            "by": m.export.exporter.username,
            "camera": m.camera.id,
            "name": repr(m.camera.name),
            "place": m.camera.place,
            "requested_start": local_when(m.requested.start_us),
            "requested_end": local_when(m.requested.end_us),
            "covered_start": local_when(m.covered.start_us),
            "covered_end": local_when(m.covered.end_us),
            "n": len(m.segments),
            "gaps": gap_note,
            "grant": m.grant.id,
            "action": _(ACTION_LABELS[m.grant.action])
            if m.grant.action in ACTION_LABELS
            else m.grant.action,
            "request": m.request.id,
            "organisation": m.request.organisation.name,
            "destination": m.request.destination or "-",
            "sha": m.clip.sha256,
            "originals": originals,
            "key": m.signer.key_id,
            "public_key": m.signer.public_key,
            "keys": ", ".join(v.checkpoint_key_ids) or _("none"),
            "through": through,
        }
        # what the bundle says is printed as text, never read as markup (a forged name such
        # as "[/]" must not take the output apart), and inert: no escape sequence or line
        # break of a forger's reaches the terminal
        said_of = {name: inert(str(value)) for name, value in shown.items()}
        lines = [_(line) % said_of for line in MANIFEST_LINES]
        out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
    for f in v.findings:
        colour, word = ("red", _("FAIL")) if f.failure else ("yellow", _("WARN"))
        subject, problem = said.export_finding(f.about, f.parts, f.subject, f.problem, LANG)
        finding = inert(f"{subject}{_(': ')}{problem}")  # names what the bundle holds
        out.print(f"[{colour}]{word}[/] {escape(finding)}", highlight=False, soft_wrap=True)
    warned = _(" (%(n)s warning(s))") % {"n": len(v.warnings)} if v.warnings else ""
    colon = _(": ")
    if outcome is Outcome.NOT_VERIFIED:
        n = len(v.failures) or len(v.warnings)
        problems = _("%(n)s problem(s)") % {"n": n}
        out.print(f"[red]{_('NOT VERIFIED')}[/]{colon}{problems}", highlight=False, soft_wrap=True)
    elif outcome is Outcome.SIGNER_UNKNOWN:
        unknown = _(
            "consistent — every file, link, checkpoint and the signature agree%(warned)s — but "
            "nothing proves who made this bundle: it is signed by key %(key)s, no --key pins "
            "it, and anyone can make a consistent bundle with a key of their own."
        ) % {"warned": warned, "key": v.signer_key_id or "?"}
        advice = escape(say(verifier.PIN_ADVICE, {"bundle": inert(str(bundle))}))
        out.print(
            f"[yellow]{_('SIGNER UNKNOWN')}[/]{colon}{unknown}\n{advice}",
            highlight=False,
            soft_wrap=True,
        )
    elif v.warnings:
        verified = _("verified with %(n)s warning(s)") % {"n": len(v.warnings)}
        pinned = _("signed by a pinned key")
        out.print(f"[yellow]{verified}[/]{colon}{pinned}", highlight=False, soft_wrap=True)
    else:
        agree = _(
            "every file, link, checkpoint and the signature agree, and the signer is a pinned key"
        )
        out.print(f"[green]{_('verified')}[/]{colon}{agree}", highlight=False, soft_wrap=True)
