"""Create an API key for an integration and print it, once: only its hash is kept.

    manage.py create_api_key "CRM sync" --integration pay-app --scope diagnose --scope agent

The integration is created (named after its slug) if it does not exist yet. The key goes
to standard output on a line of its own, so that a script can capture it; everything
else goes to standard error.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from wizard.models import ApiKey, Integration

SCOPES = [scope.value for scope in ApiKey.Scope]


class Command(BaseCommand):
    help = (
        "Create an API key and print it once (it cannot be shown again). "
        f"Scopes: {', '.join(SCOPES)}; diagnose unless given."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the key is for, e.g. 'CRM sync'.")
        parser.add_argument(
            "--integration",
            metavar="SLUG",
            help="The integration the key belongs to (created if missing); the name's slug if not given.",
        )
        parser.add_argument("--scope", action="append", choices=SCOPES, help="Give it once per scope.")
        parser.add_argument("--rate-limit", type=int, default=None, help="Requests per minute (default 120).")

    def handle(self, name, integration, scope, rate_limit, **options):
        slug = slugify(integration or name)
        if not slug:
            raise CommandError("Give the integration a slug of letters, digits and hyphens.")
        if rate_limit is not None and not 1 <= rate_limit <= 1_000_000:
            raise CommandError("--rate-limit must be from 1 to 1000000 requests per minute.")
        scopes = list(dict.fromkeys(scope or [ApiKey.Scope.DIAGNOSE.value]))
        try:
            with transaction.atomic():
                found, created = Integration.objects.get_or_create(slug=slug, defaults={"name": slug})
                key, secret = ApiKey.issue(found, name[:100], scopes)
                if rate_limit is not None:
                    key.rate_limit = rate_limit
                    key.save(update_fields=["rate_limit"])
        except IntegrityError as error:
            raise CommandError(f"Could not create the integration {slug!r}: {error}") from None
        if created:
            self.stderr.write(
                f"Created the integration {found.slug!r} (no allowed origins yet: set them in the admin)."
            )
        self.stderr.write(
            f"API key {key.prefix}… for {found.name!r}, scopes {', '.join(scopes)}, "
            f"{key.rate_limit} requests per minute. Copy it now: it is not stored and cannot be shown again."
        )
        self.stdout.write(secret)
