from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.utils.crypto import get_random_string

ACCOUNTS = (("admin", True), ("agent", False))


class Command(BaseCommand):
    help = "Create a local admin and a local agent with random passwords, printed once (development only)."

    def handle(self, **options):
        if settings.PRODUCTION:
            raise CommandError("Local accounts are never created under production settings.")
        User = get_user_model()
        for username, is_admin in ACCOUNTS:
            if User.objects.filter(username=username).exists():
                self.stdout.write(f"Account '{username}' exists already (password unchanged).")
                continue
            password = get_random_string(16)
            user = User.objects.create_user(username, password=password, is_staff=True, is_superuser=is_admin)
            if not is_admin:
                group, _ = Group.objects.get_or_create(name="Agents")
                user.groups.add(group)
            self.stdout.write(
                self.style.WARNING(f"Created '{username}' with password: {password}  (shown once)")
            )
