from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.crypto import get_random_string

from wizard import roles

# One account per role, to try each on a local site.
ACCOUNTS = (("admin", roles.SUPERUSER), ("support", roles.SUPPORT_ADMIN), ("agent", roles.AGENT))


class Command(BaseCommand):
    help = (
        "Create a local superuser, support admin and agent with random passwords, printed once "
        "(development only; in production use create_account)."
    )

    def handle(self, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "Local accounts are never created under production settings: use "
                "`manage.py create_account USERNAME --role ROLE`."
            )
        User = get_user_model()
        for username, role in ACCOUNTS:
            if User.objects.filter(username=username).exists():
                self.stdout.write(f"Account '{username}' exists already (password unchanged).")
                continue
            password = get_random_string(16)
            user = User.objects.create_user(username, password=password)
            roles.grant(user, role)
            self.stdout.write(
                self.style.WARNING(f"Created {role} '{username}' with password: {password}  (shown once)")
            )
