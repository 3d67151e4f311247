from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wizard.retention import purge


class Command(BaseCommand):
    help = (
        "Delete diagnoses older than DAYS days, with their answers and the contact details in "
        "their tickets, keeping anonymous daily counts for the insights dashboard."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, default=settings.DIAGNOSIS_RETENTION_DAYS, metavar="DAYS"
        )
        parser.add_argument("--dry-run", action="store_true", help="Only say how many would go.")

    def handle(self, older_than, dry_run, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day.")
        cutoff = timezone.now() - timedelta(days=older_than)
        removed = purge(cutoff, dry_run=dry_run)
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(f"{verb} {removed} diagnoses started before {cutoff:%Y-%m-%d %H:%M}.")
