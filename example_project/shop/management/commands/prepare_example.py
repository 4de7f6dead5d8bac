"""``manage.py prepare_example``: what ``make run`` does before serving the site."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Load the bucket into the cache (the bundled bucketing.json offline, a fresh "
        "download from Flagship with FLAGSHIP_ENV_ID and FLAGSHIP_API_KEY set) and "
        "create the demo users."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.FLAGSHIP_BUCKET_SOURCE == "local":
            from django_flagship.authoring.models import Campaign

            # The authored campaigns start as the bundled file; edits in the
            # admin then change them (and the bucket) for good.
            if not Campaign.objects.exists():
                bundled = settings.BASE_DIR / "bucketing.json"
                call_command("flagship_campaigns", "import", str(bundled), stdout=self.stdout)
        elif settings.EXAMPLE_ONLINE:
            # What a deploy hook does: download the environment's bucketing file.
            # The site still starts without it (DECISION_API mode needs none).
            try:
                call_command("flagship_refresh_bucket", stdout=self.stdout)
            except CommandError as exc:
                self.stderr.write(f"No bucket yet: {exc}")
        else:
            # Reload the file on each start, so that edits to it take effect even
            # though the cache (a file cache here) outlives the server.
            call_command(
                "flagship_refresh_bucket", file=settings.FLAGSHIP_BUCKET_FILE, stdout=self.stdout
            )
        call_command("create_demo_users", stdout=self.stdout)
        self.stdout.write("Log in as alice or bob (a VIP), password: flagship.")
