"""The authoring app's migrations describe its models (a model change comes with one)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_its_migration():
    out = StringIO()
    call_command("makemigrations", "flagship_authoring", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
