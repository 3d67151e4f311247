from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wizard import interchange


class Command(BaseCommand):
    help = (
        "Write all the knowledge content, drafts included, as a JSON knowledge file "
        "(docs/knowledge-format.md) to standard output or --output."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", "-o", metavar="FILE", help="Write to FILE instead of standard output."
        )

    def handle(self, output, **options):
        text = interchange.export_json()
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            # newline="\n": the same bytes on every platform, so exports can be diffed.
            Path(output).write_text(text, encoding="utf-8", newline="\n")
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"Exported the knowledge to {output}."))
