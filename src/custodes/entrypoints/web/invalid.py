"""Invalid input refused in the caller's language: every 422 answer, at one place.

FastAPI's own validation errors (pydantic's, English) and the refusals the routes raise in
their shape (deps.py `field_error`: a service's English message, or one a route already
translated) pass through `localise` on their way out (app.py's handlers): each item keeps the
machine fields API clients read (`loc`, `type`, `ctx`) and gets `field` — the input named by
the label a page gives it (labels.py `FIELD_LABELS`) — and `msg`, a sentence in the
request's language that names the field by that label ("用户名：至多 64 个字符"). A
pydantic error is worded by its `type` (PROBLEMS), a service's message by the catalogue
(exactly, or by one of the FORMS its numbers and names are filled into); what no catalogue
knows says that the value is not valid, never English in the Chinese UI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from custodes.domain.instants import MESSAGES as TIME_MESSAGES
from custodes.entrypoints.web import i18n, wording
from custodes.entrypoints.web.labels import (
    FIELD_LABELS,
    ORG_KIND_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
)

# msgids (locale/*.po)
FIELD_PROBLEM = "%(field)s: %(problem)s"
SOME_INPUT = "This input"
THE_BODY = "The request body"
NOT_VALID = "this value is not valid"
REFUSED = "refused"  # the rules' reasons (routes/access.py): worded already, cited apart

# pydantic's error types, by the sentence that says each; `%(…)s` from the error's ctx.
PROBLEMS: dict[str, str] = {
    "missing": "required",
    "string_too_long": "at most %(max_length)s characters",
    "string_too_short": "at least %(min_length)s characters",
    "string_type": "must be text",
    "string_pattern_mismatch": "not in the form expected",
    "string_unicode": "must be text",
    "too_long": "at most %(max_length)s items",
    "too_short": "at least %(min_length)s items",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a number",
    "greater_than_equal": "must be at least %(ge)s",
    "greater_than": "must be more than %(gt)s",
    "less_than_equal": "must be at most %(le)s",
    "less_than": "must be less than %(lt)s",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "datetime_parsing": TIME_MESSAGES["format"],
    "datetime_from_date_parsing": TIME_MESSAGES["format"],
    "datetime_type": TIME_MESSAGES["format"],
    "datetime_object_invalid": TIME_MESSAGES["format"],
    "timezone_aware": TIME_MESSAGES["zone"],
    "date_parsing": "not a date (for example 2026-11-29)",
    "date_from_datetime_parsing": "not a date (for example 2026-11-29)",
    "date_from_datetime_inexact": "not a date (for example 2026-11-29)",
    "date_type": "not a date (for example 2026-11-29)",
    "enum": "not one of the values offered",
    "literal_error": "not one of the values offered",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "json_invalid": "not valid JSON",
    "extra_forbidden": "not an input of this form",
    "url_parsing": "not a valid URL",
    "url_scheme": "not a valid URL",
    "url_type": "not a valid URL",
}

# Messages the services word with a number or a name in them, as msgids with the part that
# varies named: "at most 64 cameras per request" is FORMS' "at most %(n)s cameras per request".
FORMS: tuple[str, ...] = (
    "at most %(n)s characters",
    "at least %(n)s characters",
    "1 to %(n)s characters",
    "at most %(n)s cameras per request",
    "no camera %(n)s",
    "camera %(n)s is retired",
    "a camera named %(name)s already exists",
    "a site named %(name)s already exists",
    "a group named %(name)s already exists",
    "a view named %(name)s already exists",
    "no site %(n)s",
    "no group %(n)s",
    "no view %(n)s",
    "at most %(n)s cameras in this layout",
    "not a valid URL (%(why)s)",
    "the file is larger than %(n)s MB",
    "must be between %(low)s and %(high)s",
    "no document %(n)s of your organisation",
    "a %(state)s request can no longer be signed",
    "a %(state)s request cannot be submitted",
    "a %(state)s request cannot be withdrawn",
    "a %(state)s request cannot be decided",
    "the window is limited to %(n)s days",
    "the window is limited to %(n)s hours",
    "1 to %(n)s",
    "no request %(n)s",
    "no hold %(n)s",
    "hold %(n)s was released already",
    "hold %(n)s: the release asked by %(who)s needs a second, different account to confirm it",
    "hold %(n)s is an access hold: it keeps the footage access request %(r)s names and ends "
    "by itself when the request is rejected or withdrawn, or when its grant expires or is "
    "revoked; nobody releases it by hand",
    "kind: must be one of %(choices)s",
    "export %(n)s: the bundle is gone",
    "no export job %(n)s",
    "at most %(n)s exports of yours can be queued or running at once: wait for one to finish",
    "grant %(n)s was revoked or expired while the export was made",
    "grant %(n)s is not a live copy grant of yours for camera %(camera)s",
    # an export refused by what the index holds (services/exports/plan.py, build.py)
    "account %(n)s is not %(name)s",
    "the export was not made: no checkpoint can be signed over camera %(camera)s's exported "
    "footage, so nothing would vouch for the exported segments — %(why)s",
    "camera %(camera)s: no checkpoint closes segment %(n)s even after signing one; run "
    "`custodes verify`",
    "camera %(camera)s: index rows between seq %(first)s and its checkpoint at %(last)s are "
    "missing; run `custodes verify`",
    "camera %(camera)s: the index's segments are out of time order in this range; run `custodes"
    " verify`",
    "camera %(camera)s: the chain link before segment %(n)s is not on record (neither its row "
    "nor a checkpoint); run `custodes verify`",
    "camera %(camera)s: the index holds what an export manifest cannot state (%(why)s); run "
    "`custodes verify`",
    "segment %(n)s (%(path)s) is missing from the archive; run `custodes verify`",
    "segment %(n)s (%(path)s) does not match its index digest: the archive was altered; run "
    "`custodes verify` (nothing was exported)",
    "ffmpeg could not make %(what)s: %(why)s",
    "not enough free space for this export: it needs about %(need)s MB, %(free)s MB are free "
    "and %(reserve)s MB must stay free for recording",
    "no organisation %(n)s",
    "the role %(role)s does not allow %(permission)s",
    "the operating unit's staff never hold the role %(role)s",
    "an account of %(org)s (%(kind)s) may only hold the role %(role)s",
    "%(name)s is not one of %(choices)s",
    "one of %(choices)s",
    "no grant %(n)s",
    "no export %(n)s",
    "no document %(n)s",
    "no account %(n)s",
    "the role %(role)s files no requests, so uploads no documents",
    "%(count)s rows match, more than %(max)s in one export: narrow the filters",
    "no work ID is registered for your account, and %(article)s asks for one: an "
    "administrator registers it first",
    "no file %(name)s",
    "needs the permission %(permission)s, which the role %(role)s does not hold",
    "no HLS file %(name)s",
    "%(name)s is no longer (or not yet) in the playlist",
    "the camera gave no picture: %(why)s",
    "no video from the camera within %(n)s s",
    "no HLS playlist within %(n)s s",
)
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


@cache
def _form_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    found = []
    for form in FORMS:
        pattern = re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.+?)", re.escape(form))
        found.append((re.compile(pattern), form))
    return tuple(found)


def field_name(loc: object) -> str | None:
    """The input an error's `loc` names: its last name past the location ("body", "query"),
    an item's index skipped (["body", "camera_ids", 0] is camera_ids); None for the body."""
    if not isinstance(loc, list | tuple):
        return None
    names = [part for part in loc if isinstance(part, str)]
    if names and names[0] in _LOCATIONS:
        names = names[1:]
    return names[-1] if names else None


def label(loc: object, lang: str) -> str:
    """The input's label in `lang`; an input no page labels is "this input", never its name."""
    tr = i18n.translations(lang)
    name = field_name(loc)
    if name is None:
        return tr.gettext(THE_BODY)
    return tr.gettext(FIELD_LABELS.get(name, SOME_INPUT))


def _fill(template: str, params: Mapping[str, object]) -> str | None:
    try:
        return template % {k: str(v) for k, v in params.items()}
    except (KeyError, ValueError, TypeError):
        return None


def _shown(params: Mapping[str, str], lang: str) -> dict[str, str]:
    """A form's parts in words: a request's state, a role, an organisation's kind by its
    label, an article as cited."""
    tr = i18n.translations(lang)
    shown = dict(params)
    if "state" in shown and shown["state"] in STATE_LABELS:
        shown["state"] = tr.gettext(STATE_LABELS[shown["state"]])
    if "role" in shown and shown["role"] in ROLE_LABELS:
        shown["role"] = tr.gettext(ROLE_LABELS[shown["role"]])
    if "kind" in shown and shown["kind"] in ORG_KIND_LABELS:
        shown["kind"] = tr.gettext(ORG_KIND_LABELS[shown["kind"]])
    if "article" in shown:
        shown["article"] = wording.article(shown["article"], lang)
    return shown


def problem(error: Mapping[str, Any], lang: str) -> str:
    """What is wrong with the input, in `lang`, the field not named."""
    tr = i18n.translations(lang)
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") if isinstance(error.get("ctx"), Mapping) else {}
    if kind in PROBLEMS:
        return _fill(tr.gettext(PROBLEMS[kind]), ctx or {}) or tr.gettext(NOT_VALID)
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "value_error" and message:
        translated = tr.gettext(message)
        if translated != message or lang == "en":
            return translated
        for pattern, form in _form_patterns():
            m = pattern.fullmatch(message)
            if m:
                params = _shown(m.groupdict(), lang)
                return _fill(tr.gettext(form), params) or tr.gettext(NOT_VALID)
        if lang != "en" and re.search(r"[\u3400-\u9fff]", message):
            return message  # a route's own words, already in the request's language
    return tr.gettext(NOT_VALID) if lang != "en" or not message else message


def sentence(text: str, lang: str) -> str:
    """A refusal's detail (a 403's, a 404's: "no request 7") in `lang`: the catalogue's, or a
    FORMS' with its parts filled in; a text no catalogue knows as it is."""
    tr = i18n.translations(lang)
    translated = tr.gettext(text)
    if translated != text:
        return translated
    for pattern, form in _form_patterns():
        m = pattern.fullmatch(text)
        if m:
            return _fill(tr.gettext(form), _shown(m.groupdict(), lang)) or text
    return text


def localise(errors: list[Any], lang: str) -> list[Any]:
    """Each error of a 422 in `lang`: its `field` by label and its `msg` a sentence naming
    it; the machine fields kept, the `input` FastAPI echoes dropped (a missing field's is the
    whole body: a camera URL with its password, a password itself). The rules' refusals
    (type "refused") are worded and cited already: they pass as they are."""
    out: list[Any] = []
    tr = i18n.translations(lang)
    for error in errors:
        if not isinstance(error, Mapping) or error.get("type") == REFUSED:
            out.append(error)
            continue
        item = {k: v for k, v in error.items() if k != "input"}
        item["field"] = label(item.get("loc"), lang)
        shown = {"field": item["field"], "problem": problem(error, lang)}
        item["msg"] = _fill(tr.gettext(FIELD_PROBLEM), shown) or FIELD_PROBLEM % shown
        out.append(item)
    return out
