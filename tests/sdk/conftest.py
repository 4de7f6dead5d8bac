import json

import pytest

from django_flagship.sdk import FlagshipEventHandler


class RecordingHandler(FlagshipEventHandler):
    def __init__(self):
        self.logs = []
        self.exceptions = []

    def on_log(self, level, message):
        self.logs.append((level, message))

    def on_exception_raised(self, exception, traceback):
        self.exceptions.append(exception)

    def text(self):
        return "\n".join(m for _, m in self.logs) + "\n".join(map(str, self.exceptions))


@pytest.fixture
def handler():
    return RecordingHandler()


def variation(vid, allocation, flags, reference=False):
    return {
        "id": vid,
        "name": vid,
        "reference": reference,
        "allocation": allocation,
        "modifications": {"type": "FLAG", "value": flags},
    }


def all_users():
    return {
        "targetingGroups": [
            {"targetings": [{"key": "fs_all_users", "operator": "EQUALS", "value": ""}]}
        ]
    }


def targeting(key, operator, value):
    return {
        "targetingGroups": [{"targetings": [{"key": key, "operator": operator, "value": value}]}]
    }


SAMPLE_BUCKET = {
    "panic": False,
    "accountSettings": {"enabledXPC": False, "enabled1V1T": False},
    "campaigns": [
        {
            "id": "c-toggle",
            "type": "toggle",
            "slug": "vip",
            "variationGroups": [
                {
                    "id": "vg-vip",
                    "targeting": targeting("isVip", "EQUALS", True),
                    "variations": [
                        variation("var-vip", 100, {"vip_feature": True, "discount": 10})
                    ],
                }
            ],
        },
        {
            "id": "c-ab",
            "type": "ab",
            "variationGroups": [
                {
                    "id": "vg-ab",
                    "targeting": all_users(),
                    "variations": [
                        variation("var-ref", 50, {"btn_color": None}, reference=True),
                        variation("var-red", 50, {"btn_color": "red"}),
                    ],
                }
            ],
        },
        {
            "id": "c-price",
            "type": "perso",
            "variationGroups": [
                {
                    "id": "vg-price",
                    "targeting": all_users(),
                    "variations": [variation("var-price", 100, {"threshold": 50.0, "discount": 5})],
                }
            ],
        },
    ],
}


@pytest.fixture
def bucket_path(tmp_path):
    path = tmp_path / "bucketing.json"
    path.write_text(json.dumps(SAMPLE_BUCKET))
    return path
