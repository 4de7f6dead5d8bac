"""Migrate the site's database, add an admin user, import the example's campaigns."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.authoring.site.settings")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)
User.objects.create_superuser("admin", "admin@example.com", "admin-password")
call_command("flagship_campaigns", "import", sys.argv[1])
