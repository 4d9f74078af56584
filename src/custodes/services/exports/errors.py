"""Why an export cannot be made, or cannot be found: the errors the entry points answer."""

from __future__ import annotations


class ExportError(RuntimeError):
    """The export cannot be made; the message says why. Nothing is left behind."""


class NothingRecorded(ExportError):
    """Nothing recorded in the range. Its text is English with UTC times; `msgid` and
    `params` (camera, start_us, end_us) let the web say it in the user's language and the
    site's time zone."""

    def __init__(self, reason: str, msgid: str = "", params: dict[str, str] | None = None):
        super().__init__(reason)
        self.msgid = msgid
        self.params = params or {}


NOTHING_RECORDED = "nothing recorded by camera %(camera)s from %(start)s to %(end)s"  # msgid


class NotEnoughSpace(ExportError):
    pass


class ExportNotFound(LookupError):
    pass
