"""Organisations, accounts, second factors and camera assignments (issue 5, part 1; issue 11).

Split by job:
- base.py: errors, who acts (`Actor`), views, validation, row locks;
- organisations.py: the operating unit and the organisations that ask for footage;
- directory.py: reading accounts;
- admin.py: creating and changing accounts, where one person is never enough;
- pending.py: the changes that wait for a second person, confirmed or cancelled;
- effects.py: a change taking effect (at once, or when confirmed);
- own.py: one's own password and second factor;
- assignments.py: cameras assigned to duty operators.

Callers import this package (`from custodes.services import accounts`); the names below are
its interface.
"""

from custodes.services.accounts.admin import (
    UPDATABLE,
    create_account,
    disable_account,
    enable_account,
    remove_totp,
    reset_password,
    set_role,
    update_account,
)
from custodes.services.accounts.assignments import set_cameras
from custodes.services.accounts.base import (
    NAME_MAX,
    OPERATING_UNIT_ID,
    ORG_NAME_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_PATTERN,
    WORK_ID_MAX,
    AccountError,
    AccountView,
    Actor,
    Conflict,
    Invalid,
    LastAdministrator,
    NotFound,
    Organisation,
    Refused,
    WrongPassword,
    check_password_rules,
    generate_password,
)
from custodes.services.accounts.directory import (
    assigned_cameras,
    find_account,
    get_account,
    list_accounts,
)
from custodes.services.accounts.organisations import (
    add_organisation,
    find_organisation,
    get_organisation,
    list_organisations,
)
from custodes.services.accounts.own import (
    ENROLMENT_TTL_US,
    TotpEnrolment,
    begin_totp,
    change_own_password,
    confirm_totp,
)
from custodes.services.accounts.pending import (
    AwaitingConfirmation,
    PendingChange,
    cancel,
    confirm,
    count_open,
    get_change,
    list_changes,
    open_changes,
)

__all__ = [
    "ENROLMENT_TTL_US",
    "NAME_MAX",
    "OPERATING_UNIT_ID",
    "ORG_NAME_MAX",
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "UPDATABLE",
    "USERNAME_MAX",
    "USERNAME_PATTERN",
    "WORK_ID_MAX",
    "AccountError",
    "AccountView",
    "Actor",
    "AwaitingConfirmation",
    "Conflict",
    "Invalid",
    "LastAdministrator",
    "NotFound",
    "Organisation",
    "PendingChange",
    "Refused",
    "TotpEnrolment",
    "WrongPassword",
    "add_organisation",
    "assigned_cameras",
    "begin_totp",
    "cancel",
    "change_own_password",
    "check_password_rules",
    "confirm",
    "confirm_totp",
    "count_open",
    "create_account",
    "disable_account",
    "enable_account",
    "find_account",
    "find_organisation",
    "generate_password",
    "get_account",
    "get_change",
    "get_organisation",
    "list_accounts",
    "list_changes",
    "list_organisations",
    "open_changes",
    "remove_totp",
    "reset_password",
    "set_cameras",
    "set_role",
    "update_account",
]
