"""The status codes each operation can answer, written into the generated OpenAPI schema.

FastAPI documents an operation's success and its 422; the refusals the routes and the
transport guard answer (400, 401, 403, 404, 409, 413 …) it cannot see. They are documented
here, in one place, by rule and by table, not on each route decorator:

- by rule: an operation that needs a session can answer 401 (none) and 403 (its role, its
  organisation, or an unsafe method without the CSRF header); any operation can answer 413
  (the transport guard's size limit) and, when it needs a session, 503 (a setting the rules
  need is missing, the app-wide handler in app.py); one with a path parameter 404, and one
  with any parameter or body 422;
- by table (`EXTRA`): what a particular operation answers besides, from its route's code.

tests/test_schemathesis.py checks every answer of every operation, as each role, against the
codes documented here: a route that answers a new code fails it until the code is added here.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from custodes.entrypoints.web.hardening import needs_session

DESCRIPTIONS = {
    400: "Bad request: a body that cannot be decoded (not UTF-8, a broken multipart).",
    401: "No session, or it ended: log in first. Refused before the body is read.",
    403: "Not allowed: the role, the organisation, a grant, or the CSRF header is missing.",
    404: "Not found: no such object, or nothing recorded there.",
    409: "Conflict: the object's state does not allow this now.",
    410: "Gone: the export's bundle no longer exists.",
    413: "Too large: the body is over this operation's size limit.",
    422: "Invalid input: the detail names the field.",
    429: "Too many password checks under this name or from this address: see Retry-After.",
    503: "Unavailable: a setting the rules need is missing, or the camera cannot be reached.",
    507: "Insufficient storage: the export does not fit on the disk.",
}

REFUSAL = {"schema": {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}}

# "METHOD path" patterns (fnmatch, `*` matches across `/`) and the codes they add.
EXTRA: tuple[tuple[str, frozenset[int]], ...] = (
    ("POST /api/v1/auth/login", frozenset({401})),  # the one refusal for every failed log-in
    # the account service's NotFound and Conflict (routes/accounts.py, `_http`)
    ("POST /api/v1/organisations", frozenset({404, 409})),
    ("POST /api/v1/accounts", frozenset({404, 409})),
    ("PATCH /api/v1/accounts/*", frozenset({409})),
    ("POST /api/v1/accounts/*", frozenset({409})),
    ("PUT /api/v1/accounts/*", frozenset({409})),
    ("* /api/v1/me/*", frozenset({404, 409})),
    # a proposal already decided or lapsed, or a role changed since (services/accounts/pending)
    ("POST /api/v1/account-changes/*", frozenset({409})),
    # the account routes' `wait`: a password check that must wait (throttle), 429
    ("* /api/v1/organisations*", frozenset({429})),
    ("* /api/v1/accounts*", frozenset({429})),
    ("* /api/v1/account-changes*", frozenset({429})),
    ("* /api/v1/me/*", frozenset({429})),
    ("POST /api/v1/requests", frozenset({404})),  # a camera or document not found
    ("GET /api/v1/grants/check", frozenset({404})),  # no such camera
    ("POST /api/v1/exports", frozenset({404, 409, 507})),
    ("POST /api/v1/exports/jobs", frozenset({409})),  # a range over the limit of one export
    ("POST /api/v1/exports/jobs/*/dismiss", frozenset({409})),  # a job that has not ended
    ("GET /api/v1/exports/*", frozenset({410})),  # the bundle was removed
    ("POST /api/v1/holds", frozenset({404})),  # no such camera
    ("POST /api/v1/holds/*", frozenset({409})),  # already released, or by the same account
    ("POST /api/v1/alarms/*", frozenset({409})),  # an alarm a condition clears
    ("POST /api/v1/bookmarks", frozenset({404})),  # no such camera
)


def codes_for(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """Every status code the operation can answer besides its success."""
    codes = {413}
    if needs_session(method.upper(), path):
        codes |= {401, 403, 503}
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):
        codes.add(404)
    if parameters or "requestBody" in operation:
        codes.add(422)
    if "requestBody" in operation:
        codes.add(400)  # a body that cannot be decoded at all (not UTF-8, broken multipart)
    key = f"{method.upper()} {path}"
    for pattern, extra in EXTRA:
        if fnmatchcase(key, pattern):
            codes |= extra
    return codes


def document_status_codes(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every operation's refusals documented (in place; also returned)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for code in sorted(codes_for(method, path, operation)):
                responses.setdefault(
                    str(code),
                    {"description": DESCRIPTIONS[code], "content": {"application/json": REFUSAL}},
                )
    return schema
