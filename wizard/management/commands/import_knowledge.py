from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wizard import interchange


class Command(BaseCommand):
    help = (
        "Check a JSON knowledge file (as export_knowledge writes it) and load it into the "
        "content tables, matching on slugs. A file with any problem changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and show what would change; change nothing.",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Also delete the content absent from the file, so that the database matches it exactly.",
        )

    def handle(self, path, dry_run, replace, **options):
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        report = interchange.import_json(data, dry_run=dry_run, replace=replace)
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(problem)
            count = len(report.problems)
            raise CommandError(f"{path}: {count} problem{'s' if count > 1 else ''}; nothing was changed.")
        for line in report.lines():
            self.stdout.write(line)
        if not report.has_changes:
            self.stdout.write(f"{path}: the content already matches; nothing to change.")
        elif dry_run:
            self.stdout.write(f"{path}: dry run; nothing was changed.")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Imported {path}. Publish (publish_knowledge) to put it live.")
            )
