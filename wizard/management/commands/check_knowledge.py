from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from wizard import knowledge, review
from wizard.content import compile_payload


class Command(BaseCommand):
    help = "Report on the draft knowledge: errors (which block publishing), warnings, simulations."

    def add_arguments(self, parser):
        parser.add_argument("--language", default="en", choices=knowledge.LANGUAGES)

    def handle(self, language, **options):
        with translation.override(language):
            report = review.health_report(compile_payload(), language)
            for finding in report.findings:
                style = self.style.ERROR if finding.level == "error" else self.style.WARNING
                self.stdout.write(style(f"{finding.level}: {finding.kind} {finding.slug}: {finding.message}"))
            for run in report.runs:
                mark = "ok " if run.is_found else "!! "
                self.stdout.write(
                    f"{mark}{run.slug}: rank {run.rank} after {run.questions} questions (p={run.probability:.2f})"
                )
            summary = f"{len(report.errors)} errors, {len(report.warnings)} warnings, {len(report.runs)} causes simulated."
            if report.errors:
                raise CommandError(summary)
            self.stdout.write(self.style.SUCCESS(summary))
