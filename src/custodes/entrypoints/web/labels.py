"""The UI's names for the values the rules and services store (msgids: the catalogues,
locale/*.po, translate them). One place, so that the pages, their script and the reasons
the rules give (wording.py) name a value alike."""

from __future__ import annotations

from custodes.domain.access_rules import Action, Basis, OrgKind
from custodes.domain.duties import ChangeKind
from custodes.domain.roles import Role

ACTION_LABELS = {
    Action.VIEW.value: "View only",
    Action.COPY.value: "Copy (export a clip)",
    Action.RETRIEVE_ORIGINAL.value: "Retrieve the original files",
}
BASIS_LABELS = {
    Basis.LAW_ENFORCEMENT.value: "Law enforcement (public security)",
    Basis.NATIONAL_SECURITY.value: "National security",
    Basis.JUDICIAL.value: "Judicial",
    Basis.EMERGENCY_INCIDENT.value: "Emergency incident",
    Basis.OWN_FIELD.value: "State organ in its own industry or region",
    Basis.CONFIRMED_BY_PSB.value: "Confirmed by public security",
    Basis.INTERESTED_PARTY_EMERGENCY.value: "Interested party in an emergency",
    Basis.UNIT_DUTIES.value: "The unit's own checks and reports",
}
ORG_KIND_LABELS = {
    OrgKind.OPERATING_UNIT.value: "The operating unit",
    OrgKind.PUBLIC_SECURITY.value: "Public security organ",
    OrgKind.STATE_SECURITY.value: "State security organ",
    OrgKind.JUDICIAL.value: "Judicial organ",
    OrgKind.EMERGENCY_AUTHORITY.value: "Emergency authority",
    OrgKind.STATE_ORGAN.value: "Other state organ",
    OrgKind.OTHER_ORGANISATION.value: "Other organisation",
    OrgKind.INDIVIDUAL.value: "Individual",
}
STATE_LABELS = {
    "draft": "Draft",
    "submitted": "Awaiting approval",
    "approved": "Approved",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}
ROLE_LABELS = {
    Role.DUTY_OPERATOR.value: "Duty operator",
    Role.SECURITY_MANAGER.value: "Security manager",
    Role.AUDITOR.value: "Auditor",
    Role.SYSTEM_ADMIN.value: "System administrator",
    Role.EXTERNAL_OFFICER.value: "External officer",
}
# The account changes that wait for a second person (docs/DUTIES.md), in words.
CHANGE_KIND_LABELS = {
    ChangeKind.CREATE.value: "New account",
    ChangeKind.ROLE.value: "Role change",
    ChangeKind.PASSWORD_RESET.value: "Password reset",
    ChangeKind.ENABLE.value: "Account enabled again",
    ChangeKind.TOTP_REMOVE.value: "Second factor removed",
}

# The ledger's actions (services/ledger.py ACTIONS, services/tls.py ACTIONS) named for the
# ledger page; an action not named here (written by another version) shows as stored.
LEDGER_ACTION_LABELS = {
    "login": "Logged in",
    "login-failed": "Log-in failed",
    "logout": "Logged out",
    "camera-added": "Camera added",
    "camera-changed": "Camera changed",
    "camera-retired": "Camera retired",
    "setting-changed": "Setting changed",
    "media-viewed": "Recorded footage played",
    "live-viewed": "Live view watched",
    "snapshot-taken": "Snapshot taken",
    "alarm-cleared": "Alarm cleared",
    "hold-placed": "Hold placed",
    "hold-release-requested": "Hold release requested",
    "hold-released": "Hold released",
    "sweep-batch": "Expired footage deleted",
    "deletion-refused": "Deletion refused",
    "key-rotated": "Signing key rotated",
    "verify-ran": "Integrity verified",
    "alarm-raised": "Alarm raised",
    "alarm-acknowledged": "Alarm acknowledged",
    "ledger-exported": "Ledger exported",
    "account-locked": "Account locked",
    "account-created": "Account created",
    "account-changed": "Account changed",
    "totp-enrolled": "One-time codes set up",
    "organisation-added": "Organisation added",
    "cameras-assigned": "Cameras assigned",
    "account-change-proposed": "Account change proposed",
    "account-change-decided": "Account change decided",
    "document-uploaded": "Document uploaded",
    "request-created": "Request filed",
    "request-signed": "Request signed",
    "request-submitted": "Request submitted",
    "request-refused": "Request refused by the rules",
    "request-approved": "Request approved, grant made",
    "request-rejected": "Request rejected",
    "request-withdrawn": "Request withdrawn",
    "grant-revoked": "Grant revoked",
    "access-denied": "Access refused",
    "export-created": "Copy made",
    "export-downloaded": "Copy taken",
    "segment-salvaged": "Segment salvaged",
    "file-quarantined": "File quarantined",
    "tls-served": "Certificate served",
    "tls-renewed": "Certificate renewed",
    "tls-installed": "Certificate installed",
    "bookmark-added": "Bookmark added",
    "bookmark-deleted": "Bookmark deleted",
    "site-added": "Site added",
    "site-renamed": "Site renamed",
    "site-deleted": "Site deleted",
    "group-added": "Camera group added",
    "group-changed": "Camera group changed",
    "group-deleted": "Camera group deleted",
    "camera-placed": "Camera's site and groups changed",
}

# The inputs the API reads (a body's or query's field, as FastAPI's 422 names it in `loc`), by
# the label a page gives them: a refusal of invalid input names the field so (invalid.py).
FIELD_LABELS = {
    "username": "User name",
    "password": "Password",
    "role": "Role",
    "organisation_id": "Organisation",
    "organisation": "Organisation",
    "display_name": "Display name",
    "work_id": "Work ID",
    "name": "Name",
    "kind": "Kind",
    "url": "Main stream URL",
    "sub_url": "Sub stream URL",
    "place": "Place category",
    "address": "Address",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "direction_deg": "Viewing direction (degrees)",
    "installed_on": "Installed on",
    "signage_posted": "Signage posted",
    "site_id": "Site",
    "group_ids": "Camera groups",
    "layout": "Layout",
    "slots": "Cameras in the grid",
    "camera_ids": "Cameras",
    "cameras": "Cameras",
    "camera_id": "Camera",
    "camera": "Camera",
    "start": "Start time",
    "from": "Start time",
    "end": "End time",
    "to": "End time",
    "action": "Action",
    "need": "Action",
    "basis": "Legal basis",
    "purpose": "Purpose",
    "destination": "Destination of any copy",
    "destination_abroad": "The copy goes abroad",
    "psb_approval_ref": "Public security approval reference",
    "judicial_approval_ref": "County-level judicial approval reference",
    "document_id": "Approval document",
    "document": "Approval document",
    "file": "Approval document",
    "note": "Note",
    "reason": "Reason",
    "validity_days": "Grant valid for (days)",
    "manager_consent": "The unit's manager has consented",
    "old_password": "Current password",
    "new_password": "New password",
    "totp": "One-time code",
    "one_time_password": "One-time code",
    "code": "Code",
    "enrolment": "Authenticator enrolment",
    "grant_id": "Grant",
    "export_id": "Export",
    "watermark": "Also a watermarked copy",
    "account_id": "Account",
    "account": "Account",
    "request_id": "Request",
    "alarm_id": "Alarm",
    "state": "State",
    "site": "Site",
    "limit": "Number of rows",
    "offset": "Rows skipped",
    "include_retired": "Include retired cameras",
    "reference": "Reference",
    "validity": "Grant valid for (days)",
    "staff": "Staff",
    "at": "Time",  # a bookmark's instant
}

# A hold's kind, and which setting sets a camera's period (the retention page, the command
# line's `hold list` and `retention show`).
HOLD_KIND_LABELS = {
    "important": "Important footage",
    "case": "Case",
    "access": "Access request",
}
REASON_LABELS = {
    "jurisdiction floor": "the legal minimum",
    "key anti-terror target": "the legal minimum for a key target",
    "operator setting": "the configured period",
}

# An alarm's title by its kind: the banner's, the alarm list's, `custodes alarm list`'s
# (msgids: the catalogues translate them).
ALARM_TITLES = {
    "integrity": "Integrity check failed",
    "disk-low": "Disk space will not hold the retention period",
    "disk-full": "Disk full: recording stopped",
    "footage-cut": "Footage cut short by a crash or a full disk",
    "camera-offline": "Camera offline",
}
