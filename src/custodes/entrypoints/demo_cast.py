"""`custodes demo` only: the people needed to try the access workflow.

A demo is one person at a keyboard, but the law wants several: two officers of a public
security organ who file and sign a request, a security manager of the unit who approves it, a
duty operator who watches live, an auditor who reads the register. The demo makes these
accounts once, in its own data directory (never by `init` or `serve`), with one generated
password kept in keys/demo-password (0600) so each run can print it. Every account is made
through services/accounts.py, so each creation is in the ledger like any other.
"""

from __future__ import annotations

import secrets

from rich.cells import cell_len

from custodes.domain.access_rules import OrgKind
from custodes.domain.roles import Role
from custodes.entrypoints.cli_i18n import _
from custodes.paths import DataDir
from custodes.services import accounts
from custodes.services.context import Context

DEMO_PSB = "演示公安分局 Demo District PSB"
ACTOR = accounts.Actor("system:demo")
# (username, role, in the PSB?, display name, work ID)
CAST = (
    ("manager", Role.SECURITY_MANAGER, False, "安保主管 Security manager", None),
    ("operator", Role.DUTY_OPERATOR, False, "值班员 Duty operator", "U-0001"),
    ("auditor", Role.AUDITOR, False, "审计员 Auditor", None),
    ("officer1", Role.EXTERNAL_OFFICER, True, "民警甲 Officer One", "J-100001"),
    ("officer2", Role.EXTERNAL_OFFICER, True, "民警乙 Officer Two", "J-100002"),
)


def ensure_demo_cast(ctx: Context, dd: DataDir, camera_ids: list[int]) -> list[str]:
    """Create what is missing; the lines to print: one per person, the user name, who they
    are and the shared password on one line short enough for an 80-column terminal (a long
    line wrapped the password onto a line of its own, away from any name)."""
    path = dd.keys / "demo-password"
    if path.exists():
        password = path.read_text(encoding="utf-8").strip()
    else:
        password = "demo-" + secrets.token_urlsafe(12)
        path.write_text(password + "\n", encoding="utf-8")
        path.chmod(0o600)
    existing = {a.username: a for a in accounts.list_accounts(ctx)}
    psb = next((o for o in accounts.list_organisations(ctx) if o.name == DEMO_PSB), None)
    if psb is None:
        psb = accounts.add_organisation(ctx, DEMO_PSB, OrgKind.PUBLIC_SECURITY.value, actor=ACTOR)
    for username, role, outside, name, work_id in CAST:
        if username in existing:
            continue
        view = accounts.create_account(
            ctx,
            username=username,
            role=role.value,
            password=password,
            organisation_id=psb.id if outside else accounts.OPERATING_UNIT_ID,
            display_name=name,
            work_id=work_id,
            actor=ACTOR,
        )
        if role is Role.DUTY_OPERATOR:
            accounts.set_cameras(ctx, view.id, camera_ids, actor=ACTOR)
    return [login_line(u, name, password) for u, _, _, name, _ in CAST]


def login_line(username: str, who: str, password: str | None) -> str:
    """One person's line: user name, who they are (padded by terminal cells: a Chinese
    character takes two), password. At most 72 cells."""
    shown = password or _("(shown at init)")
    return f"  {username:<9} {who}{' ' * max(1, 27 - cell_len(who))}{_('password')} {shown}"
