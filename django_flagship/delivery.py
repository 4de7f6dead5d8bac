"""Moved: the sinks live in :mod:`django_flagship.sinks`; this path re-exports them."""

from .sinks import (
    HITS_LOGGER,
    SINKS,
    build_collector_tracker,
    build_hit_tracker,
    build_sink,
    build_spool,
    has_env_id,
    memory_sink,
    page_hit_url,
    send_page_hit,
    warn_hits_logged,
)

__all__ = [
    "HITS_LOGGER",
    "SINKS",
    "build_collector_tracker",
    "build_hit_tracker",
    "build_sink",
    "build_spool",
    "has_env_id",
    "memory_sink",
    "page_hit_url",
    "send_page_hit",
    "warn_hits_logged",
]
