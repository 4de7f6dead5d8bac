"""Spool files are outside input too: one built to crash the reader is set aside."""

import logging
import os

from .conftest import event


def test_a_file_too_deep_or_not_text_is_set_aside_and_the_rest_is_read(spool, caplog):
    spool.write([event("good")])
    spool.directory.mkdir(parents=True, exist_ok=True)
    (spool.directory / "0000000000001-1-deep.json").write_text("[" * 100_000)
    (spool.directory / "0000000000002-1-text.json").write_text(
        '{"format": "x", "hits": {"\\ud800": 1}}'
    )
    with caplog.at_level(logging.ERROR, logger="django_flagship"):
        claimed = list(spool.claim())
    assert [item.payload["el"] for c in claimed for item in c.items] == ["good"]
    assert sorted(name for name in os.listdir(spool.directory) if name.endswith(".bad")) == [
        "0000000000001-1-deep.json.bad",
        "0000000000002-1-text.json.bad",
    ]
    assert "deeper than 64 levels" in caplog.text
    assert "not valid text" in caplog.text
