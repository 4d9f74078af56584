"""What the server says in words it made, in the reader's language (issue 12, "One language
at a time"): an alarm's message, stored as a key and its parameters (domain/alarm_wording.py),
and the recorder's reasons — a gap's reason, a camera's last error, why the health page calls
a camera offline — stored as the English the recorder wrote, matched here exactly
(RECORDER_REASONS) or by one of REASON_FORMS, whose values are filled back in; a
verification finding, by its kind and parts (domain/finding_wording.py); and an export
bundle's, by its subject and parts (domain/export_wording.py).

Total: a text no catalogue knows (an ffmpeg line, another version's words) is shown as it is,
and so is an alarm without a key or whose key or parameters do not fit. No web framework here:
the command line words alarms with it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custodes.domain import alarm_wording, finding_wording
from custodes.domain.export_wording import PROBLEM_PARTS, SUBJECTS
from custodes.domain.finding_wording import Part
from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.labels import ACTION_LABELS

# What the recorder says went wrong, as it says it (msgids, locale/*.po): the causes read in
# ffmpeg's log (adapters/ffmpeg/stderr.py `_CAUSES`, `ENDED`), the worker's and the
# supervisor's own (recorder/worker.py `NOT_RUNNING`, recorder/supervisor.py `sync_cameras`).
# tests/test_alarm_wording.py checks that each of those is here.
RECORDER_REASONS: tuple[str, ...] = (
    "camera refused the credentials (401 Unauthorized): check user/password",
    "camera refused access (403 Forbidden)",
    "stream path not found on the camera (404): check the URL",
    "connection refused: camera or RTSP server not listening",
    "connection timed out: camera unreachable",
    "no route to host: camera unreachable",
    "host name cannot be resolved",
    "disk full: no space left on device",
    "spool is on a read-only file system",
    "permission denied writing the spool",
    "the URL carries no video stream",
    "not a video stream (invalid data)",
    "camera rejected DESCRIBE: not an RTSP video stream",
    "a stream codec cannot be stored in MP4",
    "camera ended the stream",
    "stopped",
    "the stream ended: the camera or the network closed the connection",
    "recorder was not running",
    "disk full",
    "the camera's address was changed: reconnecting to it",
    "the camera's recording thread ended and was restarted",
    # why a spool file holds no footage (services/salvage.py, adapters/ffmpeg/segment_file.py)
    "no whole fragment",
    "its fragments cannot be read",
    "a box header is cut short at the end of the file",
    "its last fragment has no media data (a moof without its mdat)",
    "no MP4 header (ftyp and moov)",
    "no fragment of media",
)
# Those with a number or a name in them: `%(name)s` stands for it.
REASON_FORMS: tuple[str, ...] = (
    "stalled: no segment for %(n)s s, restarting ffmpeg",
    "ffmpeg exited with status %(n)s: %(line)s",
    "no video for %(n)s s inside the stream: it delivered its video slower than real time, "
    "or stalled and caught up (the connection stayed open)",
    "audio (%(codec)s) not recorded: MP4 cannot carry it without transcoding, and evidence "
    "is never transcoded",
    alarm_wording.MESSAGES["disk-full-camera"],  # the full disk's description (diskspace.py)
    # what a segment sealed short says (services/salvage.py `describe`)
    *(
        head + tail
        for head in (
            "written short (a full disk or an I/O error): %(kept)s s are whole and sealed",
            "written short (a full disk or an I/O error): %(kept)s s of the %(made)s s ffmpeg "
            "recorded are whole and sealed",
            "open when recording stopped (a crash, a kill or a failure): %(kept)s s sealed",
        )
        for tail in ("", "; the unfinished fragment (%(bytes)s bytes) is kept in %(path)s")
    ),
    "%(n)s byte(s) at the end are not a whole box header",
    "a box of impossible size %(size)s at byte %(pos)s",
    "its last box (%(name)s) is cut short: %(got)s of %(size)s bytes",
)
# Those whose `why` is a reason too, worded in turn (one level): a file quarantined, why.
NESTED_FORMS: tuple[str, ...] = (
    "no playable fragment: %(why)s; kept in %(path)s",
    "no footage (%(why)s); removed",
)
# An alarm's parameter that is itself a reason of the recorder, by the alarm's key.
REASON_PARAMS: dict[str, str] = {
    "camera-silent": "reason",
    "footage-cut-salvaged": "note",
    "footage-cut-quarantined": "reason",
}


@cache
def _forms() -> tuple[tuple[re.Pattern[str], str], ...]:
    found = []
    for form in (*REASON_FORMS, *NESTED_FORMS):
        pattern = re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.+?)", re.escape(form))
        found.append((re.compile(pattern, re.DOTALL), form))
    return tuple(found)


def recorder_reason(text: str, lang: str, nested: bool = True) -> str:
    """A reason of the recorder in `lang`; a text it does not know, as it is. The `why` of
    one of NESTED_FORMS is worded in turn (one level: its own `why` is not)."""
    tr = i18n.translations(lang)
    if text in RECORDER_REASONS:
        return tr.gettext(text)
    for pattern, form in _forms():
        m = pattern.fullmatch(text)
        if m is None or (form in NESTED_FORMS and not nested):
            continue
        values = m.groupdict()
        if form in NESTED_FORMS:  # the reason inside; the path it is kept in is data
            values["why"] = recorder_reason(values["why"], lang, nested=False)
        shown = alarm_wording.render(tr.gettext(form), values)
        return text if shown is None else shown
    return text


def finding(kind: str, parts: Sequence[Part], detail: str, lang: str) -> tuple[str, str]:
    """A verification finding's kind and detail in `lang`: the detail said from its parts,
    or the stored English `detail` when it has none or they do not fit."""
    tr = i18n.translations(lang)
    said = finding_wording.said(parts, tr.gettext)
    # gettext("") is the catalogue's header: an empty kind stays empty
    return (tr.gettext(kind) if kind else kind), detail if said is None else said


def export_finding(
    about: Part, parts: Sequence[Part], subject: str, problem: str, lang: str
) -> tuple[str, str]:
    """An export verdict's finding (what it is about, what is wrong) in `lang`, each said from
    its parts; the English `subject` or `problem` where they have none or do not fit."""
    tr = i18n.translations(lang)
    said_about = finding_wording.said([about], tr.gettext, SUBJECTS)
    # a grant's action, quoted as the manifest has it ('view'): in another language than
    # English by its name there, when it is one
    named = {} if lang == "en" else {repr(c): tr.gettext(n) for c, n in ACTION_LABELS.items()}
    shown = [
        (key, {**params, "action": named[params["action"]]})
        if params.get("action") in named
        else (key, params)
        for key, params in parts
    ]
    said_problem = finding_wording.said(shown, tr.gettext, PROBLEM_PARTS)
    return (
        subject if said_about is None else said_about,
        problem if said_problem is None else said_problem,
    )


def alarm_message(
    message: str,
    key: str | None,
    params: Mapping[str, str] | None,
    lang: str,
    zone: str | None = None,
) -> str:
    """What an alarm (or the volume's plan) says, in `lang`: its key's msgid translated and
    filled in with its parameters, which pass through as they are (a reason of the recorder
    among them in words, REASON_PARAMS) — but instants (INSTANT_PARAMS), in the site's time
    zone `zone` when it is given. Total: without a key (a row raised before keys),
    with a key no catalogue knows, or with parameters that do not fit, the stored English
    `message`."""
    template = alarm_wording.MESSAGES.get(key) if key is not None else None
    if template is None or params is None:
        return message
    shown = alarm_wording.own(str(key), params)
    if key == "verify-found" and {"kind", "detail"} <= shown.keys():
        parts = finding_wording.stored_parts(params.get("detail_parts"))
        shown["kind"], shown["detail"] = finding(shown["kind"], parts or (), shown["detail"], lang)
    if zone is not None:
        for instant in alarm_wording.INSTANT_PARAMS & shown.keys():
            shown[instant] = _site_time(shown[instant], zone)
    name = REASON_PARAMS.get(str(key))
    if name is not None and name in shown:
        shown[name] = recorder_reason(shown[name], lang)
    for candidate in (i18n.translations(lang).gettext(template), template):
        text = alarm_wording.render(candidate, shown)
        if text is not None:
            return text
    return message


def _site_time(value: str, zone: str) -> str:
    """A stored UTC ISO 8601 instant as a person reads it, in `zone`, to the second; anything
    that is not one, or a zone no database knows, as it is."""
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            return value
        return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError, ZoneInfoNotFoundError):
        return value
