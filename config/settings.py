"""Settings for POS Upgrade Doctor, driven by environment variables.

Defaults give a working local site (SQLite, local-memory cache, DEBUG on) so that a fresh
clone runs with `make run`. `DJANGO_PRODUCTION=1` switches on the production hardening
and then requires SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.

Every variable is read through one of the ``env_*`` helpers below, which check its type
and range and stop the start-up with ImproperlyConfigured naming the variable, the value
and what is allowed; docs/deploy.md lists them all (tests/test_settings.py checks both).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# The engine is pure numpy (no Django): its stopping rules' defaults are written there once.
from wizard import engine

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "", *, required: bool = False) -> str:
    """The variable's text; unset or blank means ``default``, or an error if ``required``."""
    value = os.environ.get(name, "").strip()
    if not value and required:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_PRODUCTION is on")
    return value or default


def env_list(name: str, default: str = "", *, required: bool = False) -> list[str]:
    """Comma-separated values, e.g. ALLOWED_HOSTS=doctor.example.com,www.doctor.example.com."""
    return [item.strip() for item in env_str(name, default, required=required).split(",") if item.strip()]


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), not {value!r}")


def _allowed_range(minimum: float | None, maximum: float | None) -> str:
    if maximum is None:
        return f"of {minimum} or more"
    return f"from {minimum} to {maximum}"


def env_int(name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    value = env_str(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(
            f"{name} must be a whole number {_allowed_range(minimum, maximum)}, not {value!r}"
        )
    return number


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    value = env_str(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = None
    # NaN compares false with everything: test for the range, not against it.
    if number is None or not minimum <= number <= maximum:
        raise ImproperlyConfigured(
            f"{name} must be a number {_allowed_range(minimum, maximum)}, not {value!r}"
        )
    return number


def env_choice(name: str, default: str, choices: list[str]) -> str:
    """One of ``choices``, compared case-insensitively and returned as spelled in ``choices``."""
    value = env_str(name)
    if not value:
        return default
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate limit written "count/seconds" (e.g. "30/600"); "0/…" switches it off."""
    value = env_str(name, default)
    count, _, seconds = value.partition("/")
    try:
        rate = (int(count), int(seconds))
    except ValueError:
        rate = None
    if rate is None or rate[0] < 0 or rate[1] < 1:
        raise ImproperlyConfigured(
            f"{name} must be count/seconds with a count of 0 or more and a window of 1 second or more "
            f"(e.g. 30/600), not {value!r}"
        )
    return rate


def env_database(name: str, default: str, *, required: bool, conn_max_age: int) -> dict:
    """A database URL parsed into Django's DATABASES entry.

    The error never repeats the URL: it may hold a password.
    """
    try:
        return dj_database_url.parse(env_str(name, default, required=required), conn_max_age=conn_max_age)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"{name} must be a database URL like postgres://user:password@host:5432/name: {error}"
        ) from None


PRODUCTION = env_bool("DJANGO_PRODUCTION", False)

# In production these have no default: the helpers refuse to start without them.
SECRET_KEY = env_str("SECRET_KEY", "django-insecure-local-development-only", required=PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver", required=PRODUCTION)
DEBUG = env_bool("DEBUG", True) and not PRODUCTION

INSTALLED_APPS = [
    "modeltranslation",  # must come before django.contrib.admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # Django's form templates, for FORM_RENDERER below
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "wizard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The JSON API's CORS, and its errors as JSON (wizard/api/middleware.py).
    "wizard.api.middleware.ApiMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The embedded wizard's integration, and its cookies: before the session and CSRF
    # middleware, so that it sees the cookies they set (wizard/embed.py).
    "wizard.embed.EmbedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # ...and who may frame an embed response: inside the CSP and clickjacking middleware.
    "wizard.embed.EmbedFramingMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "wizard.middleware.RejectNulMiddleware",
    "wizard.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wizard.privacy.notice",
                "wizard.embed.template_context",
            ],
        },
    },
]

# Form fields render through the project's templates, so templates/django/forms/field.html
# (label, hint and error linked to the input) replaces Django's own field layout.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        required=PRODUCTION,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Several app servers keep connections open (conn_max_age): check one before reusing
    # it after PostgreSQL restarted, and never hang a request on an unreachable database.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", required=PRODUCTION)
if REDIS_URL:
    # A Redis that stops answering (hung, paused, a full network queue) must cost a request
    # a fraction of a second, not hang it: it holds only rate-limit counters and a measured
    # number, and is answered in well under a millisecond when healthy. After a failure
    # each process stops asking it for REDIS_FAILURE_PAUSE seconds (wizard/cache.py).
    CACHES = {
        "default": {
            "BACKEND": "wizard.cache.FailFastRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": env_float("REDIS_CONNECT_TIMEOUT", 0.25, minimum=0.01, maximum=30),
                "socket_timeout": env_float("REDIS_TIMEOUT", 0.25, minimum=0.01, maximum=30),
                "failure_pause": env_int("REDIS_FAILURE_PAUSE", 10, minimum=0, maximum=3600),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Several deployments (or test runs) may share one Redis: keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = env_str("CACHE_KEY_PREFIX")

AUTHENTICATION_BACKENDS = [
    "wizard.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in lockout (wizard/lockout.py). After AXES_FAILURE_LIMIT failures for one username
# from one address, the next attempt is refused, even with the right password: the 5th
# failure still shows the form, the 6th attempt is locked ("locks after 5 failures").
# A call centre shares one public address, so locking the address alone would let one
# mistyped password lock every agent out. Failures for one username from anywhere add up
# to LOGIN_ACCOUNT_FAILURE_LIMIT, a ceiling for a password guessed from many addresses.
AXES_FAILURE_LIMIT = 5
LOGIN_ACCOUNT_FAILURE_LIMIT = 20
AXES_COOLOFF_TIME = 1  # hours
AXES_RESET_ON_SUCCESS = True
# Attempts refused during a lockout do not extend it: it ends when the message says.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
# What a successful sign-in clears: the username's failures from this address and from
# every other (wizard.lockout.LockoutHandler counts the two limits itself).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_HANDLER = "wizard.lockout.LockoutHandler"
AXES_LOCKOUT_CALLABLE = "wizard.lockout.lockout_response"
# The client's address as the load balancer saw it (see TRUSTED_PROXY_COUNT): django-axes
# would otherwise read the socket's address, the proxy's, and lock out everyone behind it
# at once.
AXES_CLIENT_IP_CALLABLE = "wizard.ratelimit.client_address"

# How many proxies (load balancer, nginx) sit in front of the app servers and append to
# X-Forwarded-For. 0 uses the socket's address; the right-most N-th entry otherwise, the
# one the outermost trusted proxy wrote (entries left of it can be forged by the client).
# Off unless configured: trusting a proxy that is not there lets every client choose the
# address its rate limits and lockouts are counted against.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Per client address, "count/seconds"; wizard/ratelimit.py. Starting a diagnosis is rare
# for a real merchant; answers are up to WIZARD_QUESTION_BUDGET a diagnosis, plus changed
# answers; asking for a person (a ticket) is rarer still. Limits are generous because
# many shops share one mobile-network address.
RATE_LIMITS = {
    "start": env_rate("RATE_LIMIT_START", "30/600"),
    "answer": env_rate("RATE_LIMIT_ANSWER", "600/600"),
    "escalate": env_rate("RATE_LIMIT_ESCALATE", "10/3600"),
    # Look-ups by case code or ticket reference that find nothing (never exempt: codes
    # are unguessable only while guessing stays slow). Merchants per address; agents per
    # account, so that one agent's typos do not stop a call centre that shares one
    # address, and all accounts behind one address together up to a much higher ceiling.
    "lookup-miss": env_rate("RATE_LIMIT_LOOKUP_MISS", "20/900"),
    "code-miss": env_rate("RATE_LIMIT_CODE_MISS", "10/900"),
    "code-miss-address": env_rate("RATE_LIMIT_CODE_MISS_ADDRESS", "100/900"),
}
# Never limited: local tools and the benchmark. Empty in production unless set.
RATE_LIMIT_EXEMPT = env_list("RATE_LIMIT_EXEMPT", "" if PRODUCTION else "127.0.0.1,::1")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
MODELTRANSLATION_DEFAULT_LANGUAGE = "zh-hans"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("zh-hans",)
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"

# Strict policy for every page a merchant or agent sees: no inline script or style, no
# eval. The Django admin (and simple-history's pages in it) needs inline styles.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Pages carry the token in their forms and in <body hx-headers>; no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# The language switch is a form; no script reads its cookie either.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
    # Load balancers probe over plain HTTP on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60, minimum=60)  # one working day

# The wizard stops asking when the leading cause is this likely (below one half it could
# settle on a cause more likely wrong than right), after this many answers, or when no
# question left would tell it enough: WIZARD_MIN_GAIN_BITS, more once few causes are in
# play (engine.gain_floor; a property of the scoring, not of a deployment, so not read
# from the environment). Whatever runs the engine passes these in instead of keeping
# numbers of its own.
WIZARD_CONFIDENCE = env_float("WIZARD_CONFIDENCE", engine.CONFIDENCE, minimum=0.5, maximum=1.0)
WIZARD_QUESTION_BUDGET = env_int("WIZARD_QUESTION_BUDGET", engine.BUDGET, minimum=1)
WIZARD_MIN_GAIN_BITS = engine.MIN_GAIN_BITS
# "Not sure" does not spend the question budget; at most this many are asked beyond it.
WIZARD_UNSURE_ALLOWANCE = engine.UNSURE_ALLOWANCE
# After this many "not sure" answers in a row, the wizard offers the result or a person.
WIZARD_UNSURE_RUN = 3
# A merchant who asks for more questions after a result: asked past the usual
# confidence, up to this one, for this many more answers.
WIZARD_EXTENDED_CONFIDENCE = 0.97
WIZARD_EXTENDED_BUDGET = 5
# The chance that any one answer is a mistake (a slip, a misread screen, a world that
# differs from the knowledge): no single answer rules a cause out for good.
WIZARD_SLIP = env_float("WIZARD_SLIP", engine.SLIP, minimum=0.0, maximum=0.45)
# The probabilities shown are the engine's tempered by this, fitted by the benchmark on
# simulated merchants (a property of the calibration, not of a deployment).
WIZARD_CONFIDENCE_TEMPERATURE = engine.TEMPERATURE
# Compiled knowledge snapshots each process keeps in memory (one per revision in use).
WIZARD_SNAPSHOT_CACHE = env_int("WIZARD_SNAPSHOT_CACHE", 16, minimum=1)
# ...and at most this many MiB of their compiled arrays (the oldest revisions go first).
WIZARD_SNAPSHOT_CACHE_MB = env_int("WIZARD_SNAPSHOT_CACHE_MB", 256, minimum=1)
# `manage.py purge_diagnoses` keeps diagnoses (and the contact details in their tickets)
# this many days after their last change, and never while a ticket is open...
DIAGNOSIS_RETENTION_DAYS = env_int("DIAGNOSIS_RETENTION_DAYS", 365, minimum=1)
# ...and django-axes' login records (client address, browser, username) this many days.
LOGIN_LOG_RETENTION_DAYS = env_int("LOGIN_LOG_RETENTION_DAYS", 90, minimum=1)
# A merchant's contact details (name, number, e-mail, merchant number) are erased this
# many days after their request for help is closed; the anonymous diagnosis stays.
CONTACT_RETENTION_DAYS = env_int("CONTACT_RETENTION_DAYS", 30, minimum=1)
# Who processes the personal data, as the privacy notice names them (the organisation
# running this service), and how a person reaches them about it. Empty: the notice says
# "the organisation that runs this service" and "through your provider's support line".
PRIVACY_CONTROLLER = env_str("PRIVACY_CONTROLLER")
PRIVACY_CONTACT = env_str("PRIVACY_CONTACT")

# Webhooks (wizard/webhooks.py): each event is one task on the "webhooks" queue of the
# database task backend (django-tasks-db), run by `manage.py db_worker` (docs/deploy.md).
# A delivery that fails is tried again after WEBHOOK_RETRY_SECONDS, then twice as long
# each time (at most six hours apart), WEBHOOK_MAX_ATTEMPTS times in all.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "webhooks"],
    }
}
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1, maximum=50)
WEBHOOK_RETRY_SECONDS = env_int("WEBHOOK_RETRY_SECONDS", 30, minimum=1, maximum=3600)
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 10.0, minimum=0.5, maximum=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
    },
}
