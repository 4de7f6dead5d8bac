"""Where the SDK reports what happens: logs and caught exceptions."""

from __future__ import annotations

import logging
from types import TracebackType

__all__ = ["FlagshipEventHandler", "LogLevel"]

logger = logging.getLogger("django_flagship")


class LogLevel:
    """The levels passed to :meth:`FlagshipEventHandler.on_log` (those of ``logging``)."""

    DEBUG = logging.DEBUG
    INFO = logging.INFO
    WARNING = logging.WARNING
    ERROR = logging.ERROR
    CRITICAL = logging.CRITICAL


class FlagshipEventHandler:
    """Receives the SDK's log lines and the exceptions it caught.

    Subclass it and override either method; the default writes to the
    ``django_flagship`` logger. The SDK never lets an exception escape from a
    flag read: it reports it here instead.
    """

    def on_log(self, level: int, message: str) -> None:
        logger.log(level, message)

    def on_exception_raised(
        self, exception: BaseException, traceback: TracebackType | str | None
    ) -> None:
        exc_info = (
            (type(exception), exception, traceback)
            if isinstance(traceback, TracebackType)
            else None
        )
        logger.error("%s: %s", type(exception).__name__, exception, exc_info=exc_info)
