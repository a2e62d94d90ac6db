"""One log line per request, as JSON for log pipelines or as text for humans.

Each line has the method, path (never the query string), status, duration in
milliseconds, request id and actor (the token's subject, null when none was
accepted). Headers are never logged, so neither is a bearer token.
"""

from __future__ import annotations

import logging
import math
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

from api.plumbing.request_observer import ObservedRequest

ACCESS_LOGGER = "shipments.access"
_SERVICE_LOGGER = "shipments"
_HANDLER_NAME = "shipments-stderr"


class AccessLog:
    """Logs each request once it has been answered (a ``RequestObserver``)."""

    def __init__(self) -> None:
        self._log = logging.getLogger(ACCESS_LOGGER)

    def __call__(self, request: ObservedRequest) -> None:
        log = self._log
        if not log.isEnabledFor(logging.INFO):
            return
        # ``makeRecord`` and ``handle`` are what ``Logger.info`` calls, less its walk up
        # the stack for the caller's file and line (a line here records none): a few
        # per cent of a GET's CPU.
        record = log.makeRecord(
            log.name,
            logging.INFO,
            "(access)",
            0,
            "%s %s %s",
            (request.method, request.path, request.status),
            None,
            extra={
                "access": {
                    "method": request.method,
                    "path": request.path,
                    "status": request.status,
                    "duration_ms": round(request.seconds * 1000, 3),
                    "request_id": request.request_id,
                    "actor": request.actor,
                }
            },
        )
        log.handle(record)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, plus the access fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            line.update(access)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class TextLineFormatter(logging.Formatter):
    """A line a person can scan: ``time level GET /path 200 3.1ms request_id=… actor=…``."""

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            message = (
                f"{access['method']} {access['path']} {access['status']} "
                f"{access['duration_ms']:.1f}ms request_id={access['request_id']} "
                f"actor={access['actor'] or '-'}"
            )
        else:
            message = f"{record.name}: {record.getMessage()}"
        text = f"{_timestamp(record)} {record.levelname:<7} {message}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (so test capture sees it too)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.set_name(_HANDLER_NAME)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def configure_logging(log_format: Literal["json", "text"], level: str) -> None:
    """Send the service's logs (``shipments.*``) to stderr in ``log_format``; idempotent."""
    logger = logging.getLogger(_SERVICE_LOGGER)
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonLineFormatter() if log_format == "json" else TextLineFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


_second_formatted: tuple[int, str] = (-1, "")


def _timestamp(record: logging.LogRecord) -> str:
    """RFC 3339 in UTC with microseconds; the whole second formatted once per second.

    Formatting a datetime cost a tenth of a logged GET's CPU; lines arrive many a
    second, and only the fraction differs between them.
    """
    global _second_formatted  # noqa: PLW0603 - a one-entry cache, replaced whole
    # Rounded as ``datetime.fromtimestamp`` rounds, so the text is the same as its.
    fraction, whole = math.modf(record.created)
    second, micro = int(whole), round(fraction * 1_000_000)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    cached_second, text = _second_formatted
    if second != cached_second:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second_formatted = (second, text)
    return f"{text}.{micro:06d}Z"
