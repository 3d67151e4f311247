"""Settings for POS Upgrade Doctor, driven by environment variables.

Defaults give a working local site (SQLite, local-memory cache, DEBUG on) so that a fresh
clone runs with `make run`. `DJANGO_PRODUCTION=1` switches on the production hardening
and then requires SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_PRODUCTION is on")
    return value


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate limit written "count/seconds" (e.g. "30/600"); "0/…" switches it off."""
    value = os.environ.get(name, "") or default
    count, _, seconds = value.partition("/")
    try:
        rate = (int(count), int(seconds))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must look like 30/600 (count/seconds), not {value!r}") from None
    if rate[0] < 0 or rate[1] < 1:
        raise ImproperlyConfigured(f"{name} needs a count of 0 or more and a window of 1 second or more")
    return rate


PRODUCTION = env_bool("DJANGO_PRODUCTION", False)

if PRODUCTION:
    SECRET_KEY = env_required("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or [env_required("ALLOWED_HOSTS")]
    DEBUG = False
else:
    SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-local-development-only")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    DEBUG = env_bool("DEBUG", True)

INSTALLED_APPS = [
    "modeltranslation",  # must come before django.contrib.admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "csp",
    "wizard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if PRODUCTION and not os.environ.get("DATABASE_URL"):
    env_required("DATABASE_URL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Several app servers keep connections open (conn_max_age): check one before reusing
    # it after PostgreSQL restarted, and never hang a request on an unreachable database.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_required("REDIS_URL") if PRODUCTION else os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # A Redis that stops answering must fail a request (and /readyz) quickly, not hang it.
    CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 2, "socket_timeout": 2}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Several deployments (or test runs) may share one Redis: keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = os.environ.get("CACHE_KEY_PREFIX", "")

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1  # hours
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Lock out a username from one address: a call centre shares one public address, so
# locking the address alone would let one mistyped password lock every agent out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The client's address as the load balancer saw it (see TRUSTED_PROXY_COUNT), or every
# user behind the proxy would share one lockout (STACK.md, trap 7).
AXES_CLIENT_IP_CALLABLE = "wizard.ratelimit.client_address"

# How many proxies (load balancer, nginx) sit in front of the app servers and append to
# X-Forwarded-For. 0 uses the socket's address; the right-most N-th entry otherwise, the
# one the outermost trusted proxy wrote (entries left of it can be forged by the client).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if PRODUCTION else 0)

# Per client address, "count/seconds"; wizard/ratelimit.py. Starting a diagnosis is rare
# for a real merchant; answers are up to 15 a diagnosis, plus changed answers; asking
# for a person (a ticket) is rarer still. Limits are generous because many shops share
# one mobile-network address.
RATE_LIMITS = {
    "start": env_rate("RATE_LIMIT_START", "30/600"),
    "answer": env_rate("RATE_LIMIT_ANSWER", "600/600"),
    "escalate": env_rate("RATE_LIMIT_ESCALATE", "10/3600"),
    # Unknown case codes an agent may try, per agent and per address (never exempt):
    # codes are unguessable only while guessing stays slow.
    "code-miss": env_rate("RATE_LIMIT_CODE_MISS", "10/900"),
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

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
    # Load balancers probe over plain HTTP on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)  # one working day

# The wizard: when to stop asking.
WIZARD_CONFIDENCE = float(os.environ.get("WIZARD_CONFIDENCE", "0.85"))
WIZARD_QUESTION_BUDGET = int(os.environ.get("WIZARD_QUESTION_BUDGET", "15"))
# A merchant who asks for more questions after a result: asked past the usual
# confidence, up to this one, for this many more questions.
WIZARD_EXTENDED_CONFIDENCE = 0.97
WIZARD_EXTENDED_BUDGET = 5
# "Not sure" does not spend the question budget; at most this many are asked beyond it.
WIZARD_UNSURE_ALLOWANCE = 5
# After this many "not sure" answers in a row, the wizard offers the result or a person.
WIZARD_UNSURE_RUN = 3
# The chance that any one answer is a mistake: no single answer rules a cause out.
WIZARD_SLIP = float(os.environ.get("WIZARD_SLIP", "0.05"))
# Diagnoses (and the contact details in their tickets) are kept this long by default.
DIAGNOSIS_RETENTION_DAYS = int(os.environ.get("DIAGNOSIS_RETENTION_DAYS", "365"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
