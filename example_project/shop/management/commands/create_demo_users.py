"""``manage.py create_demo_users``: the two accounts the example's README names."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from ...context import VIP_GROUP

DEMO_USERS = (
    # username, password, VIP
    ("alice", "flagship", False),
    ("bob", "flagship", True),
)


class Command(BaseCommand):
    help = (
        "Create the demo users alice and bob (password: flagship); bob is in the "
        "'VIP customers' group. Existing users are reset to these values."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password", default=None, help="Use this password instead of 'flagship'."
        )

    def handle(self, *args: Any, password: str | None = None, **options: Any) -> None:
        user_model = get_user_model()
        vip_group, _ = Group.objects.get_or_create(name=VIP_GROUP)
        for username, default_password, vip in DEMO_USERS:
            user, created = user_model.objects.get_or_create(username=username)
            user.set_password(password or default_password)
            user.save()
            if vip:
                user.groups.add(vip_group)
            else:
                user.groups.remove(vip_group)
            state = "created" if created else "reset"
            label = " (VIP)" if vip else ""
            self.stdout.write(f"Demo user {username}{label} {state}.")
