from django.core.management.base import BaseCommand, CommandError

from wizard import publishing


class Command(BaseCommand):
    help = "Check the published content and compile it into the next knowledge revision."

    def add_arguments(self, parser):
        parser.add_argument("--note", default="", help="What changed, shown in the admin.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Publish even when nothing changed since the latest revision.",
        )

    def handle(self, note, force, **options):
        try:
            revision, created = publishing.publish(note=note, force=force)
        except publishing.PublishError as error:
            for finding in error.findings:
                self.stderr.write(f"{finding.kind} {finding.slug}: {finding.message}")
            raise CommandError("The knowledge has errors; nothing was published.") from error
        if created:
            self.stdout.write(self.style.SUCCESS(f"Published revision {revision.number}."))
        else:
            self.stdout.write(f"Nothing changed since revision {revision.number}; nothing was published.")
