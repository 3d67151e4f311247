from datetime import datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wizard import privacy, retention


class Command(BaseCommand):
    help = (
        "Delete diagnoses nothing has happened to for DAYS days (never one with a ticket still "
        "open), with their answers and the contact details in their tickets, keeping anonymous "
        "daily counts for the insights dashboard; erase the contact details of requests for help "
        "closed more than CONTACT_RETENTION_DAYS ago (the anonymous diagnosis stays); and delete "
        "login records (client addresses) older than their own period. Safe to run again: a "
        "second run removes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.DIAGNOSIS_RETENTION_DAYS,
            metavar="DAYS",
            help="Days a diagnosis is kept after its last change (default: DIAGNOSIS_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--logins-older-than",
            type=int,
            default=settings.LOGIN_LOG_RETENTION_DAYS,
            metavar="DAYS",
            help="Days a login record is kept (default: LOGIN_LOG_RETENTION_DAYS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only say what would go.")

    def handle(self, older_than, logins_older_than, dry_run, **options):
        for option, days in (("--older-than", older_than), ("--logins-older-than", logins_older_than)):
            if days < 1:
                raise CommandError(f"{option} must be at least 1 day, not {days}.")
        now = timezone.now()
        verb = "would be removed" if dry_run else "removed"
        cutoff = now - timedelta(days=older_than)
        kept = retention.kept_open(cutoff)
        removed = retention.purge(cutoff, dry_run=dry_run)
        self.stdout.write(
            f"Diagnoses not changed since {self._when(cutoff)} ({older_than} days), no ticket open, {verb}:"
        )
        self._counts(removed)
        noun = "diagnosis" if kept == 1 else "diagnoses"
        self.stdout.write(f"  kept, though older: {kept} {noun} with a ticket still open")
        cutoff = now - timedelta(days=settings.CONTACT_RETENTION_DAYS)
        erased = privacy.erase_expired_contacts(cutoff, dry_run=dry_run)
        self.stdout.write(
            f"Contact details of requests for help closed before {self._when(cutoff)} "
            f"({settings.CONTACT_RETENTION_DAYS} days), {'would be erased' if dry_run else 'erased'}:"
        )
        self._counts({"tickets": erased})
        cutoff = now - timedelta(days=logins_older_than)
        removed = retention.purge_logins(cutoff, dry_run=dry_run)
        self.stdout.write(
            f"Login records from before {self._when(cutoff)} ({logins_older_than} days), {verb}:"
        )
        self._counts(removed)

    def _counts(self, removed) -> None:
        for kind, count in removed.items():
            self.stdout.write(f"  {kind}: {count}")

    @staticmethod
    def _when(moment: datetime) -> str:
        return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
