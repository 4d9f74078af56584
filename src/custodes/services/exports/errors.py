"""Why an export cannot be made, or cannot be found: the errors the entry points answer."""

from __future__ import annotations


class ExportError(RuntimeError):
    """The export cannot be made; the message says why. Nothing is left behind."""


class NothingRecorded(ExportError):
    pass


class NotEnoughSpace(ExportError):
    pass


class ExportNotFound(LookupError):
    pass
