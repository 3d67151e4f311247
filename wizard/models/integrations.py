"""Integrations: the outside systems that use the diagnosis through the API, the embedded
wizard and webhooks (a provider's app, a bank's site, a chat bot, a CRM).

An :class:`Integration` is one such partner: where it may embed the wizard from, and
where its webhook events go. Each of its :class:`ApiKey` rows is one secret with scopes;
only a hash of the secret is stored, the secret itself is shown once when it is made.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TimeStamped

# An origin as a browser sends it: scheme, host, optional port; nothing else (a line of
# the allowed origins must never add a directive to the Content-Security-Policy).
ORIGIN = re.compile(r"^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$")
# ...served over plain HTTP from anywhere but the computer itself (browsers treat
# localhost as secure): an admin may not allow one.
PLAIN_HTTP = re.compile(r"^http://(?!(localhost|127\.0\.0\.1)(:\d{1,5})?$)")

KEY_PREFIX_LENGTH = 8  # the public part of a key, kept in clear to find its row


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Integration(TimeStamped):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(
        _("slug"), max_length=50, unique=True, help_text=_("Names the integration in its embed address.")
    )
    allowed_origins = models.TextField(
        _("allowed origins"),
        blank=True,
        help_text=_(
            "One origin per line, e.g. https://pay.example.com. Browsers may call the API "
            "and embed the wizard only from these."
        ),
    )
    webhook_url = models.URLField(
        _("webhook URL"),
        blank=True,
        help_text=_("Escalations and outcomes are posted here as signed JSON events."),
    )
    webhook_secret = models.CharField(
        _("webhook signing secret"), max_length=64, default=new_webhook_secret, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self) -> str:
        return self.name

    @property
    def origins(self) -> list[str]:
        """The allowed origins, as browsers send them (lower case, no trailing slash),
        without repeats; a line that is not an origin, or is plain HTTP beyond this
        computer, counts for nothing, however it was stored. The API's CORS, the embed's
        frame-ancestors and its postMessage targets all read this."""
        lines = (line.strip().rstrip("/").lower() for line in self.allowed_origins.splitlines())
        return list(
            dict.fromkeys(line for line in lines if ORIGIN.match(line) and not PLAIN_HTTP.match(line))
        )


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        DIAGNOSE = "diagnose", _("diagnose")
        AGENT = "agent", _("agent")
        KNOWLEDGE_READ = "knowledge-read", _("read the published knowledge")

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="keys", verbose_name=_("integration")
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key prefix"), max_length=KEY_PREFIX_LENGTH, unique=True, editable=False)
    hashed = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    rate_limit = models.PositiveIntegerField(
        _("requests per minute"), default=120, help_text=_("Over this, requests get HTTP 429.")
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ("integration", "name")
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.integration} · {self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, integration: Integration, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
        """A new key and its secret, which is never stored and must be shown once."""
        while True:
            prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
            if not cls.objects.filter(prefix=prefix).exists():
                break
        secret = f"pud_{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            integration=integration, name=name, prefix=prefix, hashed=hash_key(secret), scopes=scopes
        )
        return key, secret

    @classmethod
    def find(cls, secret: str) -> ApiKey | None:
        """The active key this secret belongs to, or None."""
        parts = secret.split("_", 2)  # the random part may hold "_" too
        if len(parts) != 3 or parts[0] != "pud" or len(parts[1]) != KEY_PREFIX_LENGTH:
            return None
        key = (
            cls.objects.select_related("integration")
            .filter(prefix=parts[1], revoked_at__isnull=True, integration__is_active=True)
            .first()
        )
        if key is None or not secrets.compare_digest(key.hashed, hash_key(secret)):
            return None
        return key

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
