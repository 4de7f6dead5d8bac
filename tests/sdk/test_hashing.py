"""Golden values for the bucketing hashes (protocol sections 3.1, 3.4, 3.5, 3.7)."""

import mmh3
import pytest

from django_flagship.sdk.hashing import (
    decision_group_key,
    encode_utf8,
    murmur_bucket,
    murmur_hash,
    range_bucket,
)

VG25 = "bs8qvmo4nlr01fl9bbbb"
VG50 = "bs8r119sbs4016meiiii"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hello", 0x248BFA47),
        ("😀", 3199479546),  # 4 UTF-8 bytes; the official SDK gets 2536652628
        (VG25 + "202072017183814142", 3758130575),
        (VG25 + "202072017183860649", 2568582316),
        (VG25 + "202072017183828850", 2264103733),
        (VG50 + "202072017183823773", 2479692755),
        (VG50 + "202072017183818733", 490010605),
        ("vgA1", 958679145),
        ("vgB1", 1000930696),
        (VG25 + "dGVhbS00Mg==", 2589847122),
    ],
)
def test_murmur_hash_golden_values(value, expected):
    assert murmur_hash(value) == expected


@pytest.mark.parametrize(
    ("vg", "visitor", "bucket"),
    [
        (VG25, "202072017183814142", 75),
        (VG25, "202072017183860649", 16),
        (VG25, "202072017183828850", 33),
        (VG50, "202072017183823773", 55),
        (VG50, "202072017183818733", 5),
        ("vgA", "1", 45),
        ("vgB", "1", 96),
    ],
)
def test_murmur_bucket_worked_examples(vg, visitor, bucket):
    assert murmur_bucket(vg, visitor) == bucket


def test_bucket_ranges_hash_the_visitor_id_alone():
    assert range_bucket("123") == 71
    assert range_bucket("123") == murmur_hash("123") % 100


def test_decision_group_key_is_standard_base64_with_padding():
    assert decision_group_key("team-42") == "dGVhbS00Mg=="
    assert decision_group_key("é") == "w6k="
    assert murmur_bucket(VG25, decision_group_key("team-42")) == 22


@pytest.mark.parametrize(
    "value",
    ["é", "日本語", "ü" * 300, "😀🎉 mixed ascii", "x" * 5000, "\u00e9\u0301", "\U0010ffff"],
)
def test_non_ascii_hashes_the_utf8_bytes(value):
    assert murmur_hash(value) == mmh3.hash(value.encode("utf-8"), 0, signed=False)
    assert 0 <= murmur_bucket("vg", value) <= 99


def test_lone_surrogates_become_replacement_characters():
    assert encode_utf8("a\ud800b") == "a\ufffdb".encode()
    assert murmur_hash("a\udfffb") == murmur_hash("a\ufffdb")
    # A well-formed pair of surrogates is the character it encodes.
    assert encode_utf8("\ud83d\ude00") == "😀".encode()
    assert murmur_bucket("vg", "\ud83d\ude00") == murmur_bucket("vg", "😀")
    # Deterministic, and never handed to mmh3 as a str.
    assert murmur_bucket("vg\ud800", "id") == murmur_bucket("vg\ufffd", "id")


def test_bucket_is_modulo_100_of_the_unsigned_hash():
    for i in range(200):
        vg, visitor = f"vg{i}", f"visitor-{i * 7919}"
        unsigned = mmh3.hash(f"{vg}{visitor}".encode(), 0, signed=False)
        assert unsigned >= 0
        assert murmur_bucket(vg, visitor) == unsigned % 100
