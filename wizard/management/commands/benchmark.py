"""`manage.py benchmark [--quick]`: honest, repeatable figures written to docs/performance.md.

The measurements and the report live in ``wizard.benchmark``; this command reads the
options, runs it and writes the file.
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from wizard.benchmark.run import run
from wizard.benchmark.servers import BASE_DIR, DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL


class Command(BaseCommand):
    help = "Measure the engine, a wizard step, HTTP throughput and diagnostic quality; write docs/performance.md."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quick", action="store_true", help="Short runs (about a minute), for a smoke test."
        )
        parser.add_argument("--output", default=str(BASE_DIR / "docs" / "performance.md"))
        parser.add_argument(
            "--database-url",
            default="",
            help="PostgreSQL server for the HTTP part (a scratch database is created and dropped "
            "there). Default: DATABASE_URL if it is PostgreSQL, else " + DEFAULT_POSTGRES_URL,
        )
        parser.add_argument("--redis-url", default="", help="Default: REDIS_URL, else " + DEFAULT_REDIS_URL)
        parser.add_argument("--skip-http", action="store_true", help="Leave out the HTTP part.")

    def handle(
        self, *, quick: bool, output: str, database_url: str, redis_url: str, skip_http: bool, **options
    ):
        report = run(
            quick=quick,
            database_url=database_url,
            redis_url=redis_url,
            skip_http=skip_http,
            log=self.stdout.write,
        )
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(report, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))
