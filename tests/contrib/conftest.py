import json

import pytest

from tests.sdk.conftest import SAMPLE_BUCKET, RecordingHandler


@pytest.fixture
def handler():
    return RecordingHandler()


@pytest.fixture
def bucket_path(tmp_path):
    path = tmp_path / "bucketing.json"
    path.write_text(json.dumps(SAMPLE_BUCKET))
    return path
