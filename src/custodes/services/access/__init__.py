"""Access requests and their decisions: the gate to recorded footage (issue 5, parts 3–4).

draft ──sign (each staff member, own account, work ID)──▶ draft
draft ──submit (rules pass)──▶ submitted ──approve (security manager, not a requester)──▶
approved (+ grant) | rejected; draft/submitted ──withdraw──▶ withdrawn. A grant can be revoked.

The footage a request names is held from its creation (an automatic "access" hold per camera,
services/retention.py) until it is rejected or withdrawn; at approval the hold is renewed to
run until the grant expires, and a revocation ends it. Each is done in the step's transaction.

The rules themselves are pure (domain/access_rules.py) and run twice: at submission and again
at approval, so a request cannot be approved if anything it relies on changed meanwhile. Every
step is a ledger entry in the same transaction as the change; every refusal by the rules is
one too. A step the actor's role or part does not allow is refused without an entry (nothing
changed; the route answers 403).
Visibility: an actor sees its own organisation's requests; roles that may read all
(REQUESTS_READ_ALL) see every one. Another organisation's request is "not found", never
"forbidden", so ids cannot be probed.

One job per module (issue 11, Shape), all re-exported here as `services.access`:
- `model.py` — the vocabulary: who acts, what a request asks, the errors, column bounds;
- `rows.py` — what the steps share: visible rows, parties, the request read as the rules' Draft;
- `filing.py` — the requester's steps: `create_request`, `sign`, `submit`, `withdraw`;
- `deciding.py` — the security manager's steps: `approve`, `reject`, `revoke`;
- `views.py` — what a reader sees: `get_request`, `list_requests`, `my_grants`.
"""

from __future__ import annotations

from custodes.services.access.deciding import approve, reject, revoke
from custodes.services.access.filing import create_request, sign, submit, withdraw
from custodes.services.access.model import (
    DEFAULT_VALIDITY_US,
    FUTURE_SLACK_US,
    MAX_CAMERAS,
    MAX_RANGE_US,
    MAX_VALIDITY_US,
    OPERATING_UNIT_ID,
    AccessError,
    Actor,
    NewRequest,
    NotAllowed,
    NotFound,
    Refused,
)
from custodes.services.access.views import (
    AWAITING,
    GrantView,
    RequestView,
    StaffView,
    count_awaiting,
    get_request,
    list_requests,
    my_grants,
)

__all__ = [
    "AWAITING",
    "DEFAULT_VALIDITY_US",
    "FUTURE_SLACK_US",
    "MAX_CAMERAS",
    "MAX_RANGE_US",
    "MAX_VALIDITY_US",
    "OPERATING_UNIT_ID",
    "AccessError",
    "Actor",
    "GrantView",
    "NewRequest",
    "NotAllowed",
    "NotFound",
    "Refused",
    "RequestView",
    "StaffView",
    "approve",
    "count_awaiting",
    "create_request",
    "get_request",
    "list_requests",
    "my_grants",
    "reject",
    "revoke",
    "sign",
    "submit",
    "withdraw",
]
