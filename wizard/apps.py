from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WizardConfig(AppConfig):
    name = "wizard"
    verbose_name = _("POS Upgrade Doctor")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .roles import sync_groups_after_migrate

        # After Django has created this app's permissions (its own post_migrate handler
        # was connected first), give the role groups theirs.
        post_migrate.connect(sync_groups_after_migrate, sender=self, dispatch_uid="wizard.roles.sync_groups")
