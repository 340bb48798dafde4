"""Structured logging: JSON lines in production, readable console lines otherwise, personal data masked in both.

structlog and the standard library (uvicorn, SQLAlchemy, APScheduler, httpx) share one pipeline, so a third-party
log line is masked exactly like Accord's own. Masking runs after exceptions are formatted, so a phone number
inside a traceback is masked too.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from accord.log_masking import masking_processor
from accord.settings import Settings

_configured: tuple[bool, str] | None = None


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _drop_color_message(_logger: Any, _method: str, event: Any) -> Any:
    """uvicorn attaches an ANSI-coloured copy of each message; the plain one is enough."""
    event.pop("color_message", None)
    return event


def build_formatter(json_output: bool) -> structlog.stdlib.ProcessorFormatter:
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder(), _drop_color_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            masking_processor,
            renderer,
        ],
    )


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Configure structlog and the root logger once per process (repeat calls with the same mode are no-ops)."""
    global _configured
    mode = (settings.log_json, settings.accord_log_level.upper())
    if _configured == mode and stream is None:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(build_formatter(settings.log_json))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_accord", False):
            root.removeHandler(old)
    handler._accord = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(mode[1])
    # httpx and httpcore log every request at INFO/DEBUG (each dialogue turn, each provider call): noise at that
    # rate, and the URL can carry a secret. Their warnings still come through.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(mode[1])))
    # uvicorn installs its own handlers; route its records through ours instead (access lines are ours too).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # No caching: a logger first used before configuration must not keep an unmasked pipeline.
        cache_logger_on_first_use=False,
    )
    # A captured stream (tests) is temporary: the next plain call must restore stderr.
    _configured = mode if stream is None else None


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
