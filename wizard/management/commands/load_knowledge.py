from django.core.management.base import BaseCommand, CommandError

from wizard import content


class Command(BaseCommand):
    help = "Load a knowledge file (the seed by default) into the content tables, matching on slugs."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(content.SEED_PATH))
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Also delete the content the file does not have (e.g. questions a newer seed retired).",
        )

    def handle(self, path, *, replace: bool, **options):
        try:
            changes = content.load_payload(content.read_file(path), replace=replace)
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"Cannot load {path}: {error!r}") from error
        if changes:
            self.stdout.write(self.style.SUCCESS(f"Loaded {path}: {changes} objects created or changed."))
        else:
            self.stdout.write(f"Loaded {path}: the content already matched, nothing changed.")
