"""Settings for the servers `manage.py benchmark` starts: the site plus its reference view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "wizard.benchmark.urls"
