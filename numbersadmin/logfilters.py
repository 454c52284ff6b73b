"""Logging filters (settings.LOGGING).

Django logs a refused request ("Forbidden (Permission denied): /path", 400s from BadRequest and
SuspiciousOperation) with the exception attached, so every 403 printed a full traceback although
nothing went wrong on our side. A client error keeps its one warning line; only 5xx responses
(real faults) keep their traceback.
"""

from __future__ import annotations

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """Drop the traceback from log records about 4xx responses (``status_code`` < 500, as Django's
    ``log_response`` and the security loggers set it). Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
