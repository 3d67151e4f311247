"""Settings for the servers `manage.py benchmark` starts: the site plus its reference view."""

from .settings import *  # noqa: F403

ROOT_URLCONF = "config.benchmark_urls"
