"""Roles and what each may do: separation of duties (issue 5, part 1). Pure.

- duty operator: watches its assigned cameras live; may open an access request for its unit;
- security manager: approves or rejects requests (never one it is among the staff of), revokes
  grants, places and releases holds, assigns cameras, watches live;
- auditor: reads the ledger and the access register; sees no footage, live or recorded;
- system administrator: configures cameras, accounts and settings, watches live to commission
  cameras; sees no recorded footage unless granted like anyone else;
- external officer (public security, judicial, emergency …): opens requests for its own
  organisation, signs them as staff, and uses what a grant allows.

Recorded footage (playback, copy, retrieval of originals) is never a role's right: it needs a
grant (services/grants.py), whatever the role.

Separation of duties (issue 11, docs/DUTIES.md): a change that creates or empowers an account
whose credentials lead towards footage (a signer, an approver, or someone who confirms such
changes) takes effect only when a second privileged person confirms it (`CONFIRMING_ROLES`,
`empowers`).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DUTY_OPERATOR = "duty_operator"
    SECURITY_MANAGER = "security_manager"
    AUDITOR = "auditor"
    SYSTEM_ADMIN = "system_admin"
    EXTERNAL_OFFICER = "external_officer"


class Permission(StrEnum):
    LIVE_ASSIGNED = "live-assigned"  # live view of the cameras assigned to the account
    LIVE_ALL = "live-all"  # live view of every camera
    CAMERAS_READ = "cameras-read"  # the registry and the recorded timeline (no footage)
    CAMERAS_CONFIGURE = "cameras-configure"
    ACCOUNTS_MANAGE = "accounts-manage"
    ASSIGN_CAMERAS = "assign-cameras"
    REQUEST_CREATE = "request-create"
    REQUEST_SIGN = "request-sign"
    REQUEST_DECIDE = "request-decide"
    GRANT_REVOKE = "grant-revoke"
    REQUESTS_READ_ALL = "requests-read-all"  # every organisation's requests (else: own org)
    REGISTER_READ = "register-read"
    LEDGER_READ = "ledger-read"
    HOLDS_MANAGE = "holds-manage"
    RETENTION_READ = "retention-read"
    ALARMS_ACKNOWLEDGE = "alarms-acknowledge"  # close an alarm no condition clears
    CHANGES_CONFIRM = "changes-confirm"  # confirm another person's pending account change


P = Permission
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.DUTY_OPERATOR: frozenset(
        {P.LIVE_ASSIGNED, P.CAMERAS_READ, P.REQUEST_CREATE, P.REQUEST_SIGN, P.RETENTION_READ}
    ),
    Role.SECURITY_MANAGER: frozenset(
        {
            P.LIVE_ALL,
            P.CAMERAS_READ,
            P.ASSIGN_CAMERAS,
            P.REQUEST_DECIDE,
            P.GRANT_REVOKE,
            P.REQUESTS_READ_ALL,
            P.REGISTER_READ,
            P.HOLDS_MANAGE,
            P.RETENTION_READ,
            P.ALARMS_ACKNOWLEDGE,
            P.CHANGES_CONFIRM,
        }
    ),
    Role.AUDITOR: frozenset(
        {P.REQUESTS_READ_ALL, P.REGISTER_READ, P.LEDGER_READ, P.RETENTION_READ, P.CAMERAS_READ}
    ),
    Role.SYSTEM_ADMIN: frozenset(
        {
            P.LIVE_ALL,
            P.CAMERAS_READ,
            P.CAMERAS_CONFIGURE,
            P.ACCOUNTS_MANAGE,
            P.ASSIGN_CAMERAS,
            P.RETENTION_READ,
            P.ALARMS_ACKNOWLEDGE,
            P.CHANGES_CONFIRM,
        }
    ),
    Role.EXTERNAL_OFFICER: frozenset({P.CAMERAS_READ, P.REQUEST_CREATE, P.REQUEST_SIGN}),
}

# Roles an account of an outside organisation may hold: outsiders never run the system.
OUTSIDE_ROLES = frozenset({Role.EXTERNAL_OFFICER})


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValueError(
            f"role: {value!r} is not one of {', '.join(r.value for r in Role)}"
        ) from None


def allows(role: str, permission: Permission) -> bool:
    """Whether the role holds the permission; an unknown role holds nothing."""
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def role_fits_organisation(role: Role, *, operating_unit: bool) -> bool:
    """Staff of the operating unit hold unit roles; outsiders hold only the external role."""
    return (role not in OUTSIDE_ROLES) if operating_unit else (role in OUTSIDE_ROLES)


# What makes an account's credentials lead towards footage: filing or signing a request (a
# grant's holders are its signers), deciding one, managing accounts, or confirming changes.
EMPOWERING = frozenset(
    {
        Permission.REQUEST_CREATE,
        Permission.REQUEST_SIGN,
        Permission.REQUEST_DECIDE,
        Permission.ACCOUNTS_MANAGE,
        Permission.CHANGES_CONFIRM,
    }
)
# The roles whose members confirm another person's pending change.
CONFIRMING_ROLES = frozenset(r for r, ps in PERMISSIONS.items() if Permission.CHANGES_CONFIRM in ps)


def powers(role: str | None) -> frozenset[Permission]:
    """The empowering permissions a role holds (none for None or an unknown role)."""
    try:
        return PERMISSIONS[Role(role)] & EMPOWERING if role is not None else frozenset()
    except ValueError:
        return frozenset()


def empowers(old: str | None, new: str) -> bool:
    """Whether moving an account from role `old` (None: a new account) to `new` gives it an
    empowering permission it did not hold."""
    return not powers(new) <= powers(old)
