"""The roles, declared once: who may do what.

- **Agents** work cases and tickets in the agent console (``/agent/``). They are not
  staff: the admin is closed to them, so nothing they do escapes the console's rules
  and its audit trail (answers carry their author, everything else is a CaseEvent).
- **Support admins** keep the knowledge in the admin (``/admin/``): content, publishing,
  history, insights. They see diagnoses read-only (answers and results, which is what
  the knowledge learns from) but no contact details: no tickets, no agent notes. PRODUCT.md
  shows contact details "to agents only", and keeping the knowledge needs none.
- **Superusers** hold every permission; records still change only through the console.

The two groups are kept by the code: every ``migrate`` (and every ``flush``) sets their
permissions to the lists below, as Django itself does for the permissions. Give a person
an extra right on their account, not on the group.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db import transaction

AGENT = "agent"
SUPPORT_ADMIN = "support-admin"
SUPERUSER = "superuser"
ROLES = (AGENT, SUPPORT_ADMIN, SUPERUSER)

AGENTS_GROUP = "Agents"
SUPPORT_ADMINS_GROUP = "Support admins"

CONTENT = (
    "category",
    "provider",
    "symptom",
    "cause",
    "evidence",
    "causesolution",
    "question",
    "option",
    "solution",
)
# Ticket is left out on purpose: it holds the merchant's name and number.
RECORDS = ("diagnosis", "answer", "caseevent")


def _codenames(models: tuple[str, ...], actions: tuple[str, ...]) -> list[str]:
    return [f"{action}_{model}" for model in models for action in actions]


GROUP_PERMISSIONS: dict[str, list[str]] = {
    SUPPORT_ADMINS_GROUP: [
        *_codenames(CONTENT, ("add", "change", "delete", "view")),
        *_codenames(RECORDS, ("view",)),
        "view_knowledgerevision",
        "publish_knowledge",
        "view_insights",
        # The webhook delivery log, and "send again" (events carry no personal data);
        # integrations and their keys and secrets stay with superusers.
        "view_webhookdelivery",
        "change_webhookdelivery",
    ],
    # Everything an agent does goes through the console, which asks for this one.
    AGENTS_GROUP: ["use_console"],
}

# What each role is made of: (is_staff, is_superuser, groups).
ROLE_ACCOUNTS: dict[str, tuple[bool, bool, tuple[str, ...]]] = {
    AGENT: (False, False, (AGENTS_GROUP,)),
    SUPPORT_ADMIN: (True, False, (SUPPORT_ADMINS_GROUP,)),
    SUPERUSER: (True, True, ()),
}


def sync_groups(apps=global_apps, using: str = "default") -> None:
    """Create the groups and give each exactly its permissions (those that exist yet:
    a migration run halfway back may lack some)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(
            Permission.objects.using(using).filter(content_type__app_label="wizard", codename__in=codenames)
        )


def sync_groups_after_migrate(sender, apps=global_apps, using="default", **kwargs) -> None:
    try:
        apps.get_model("auth", "Group")
    except LookupError:  # migrated back before auth
        return
    sync_groups(apps, using)


@transaction.atomic
def grant(user, *roles: str) -> None:
    """Make ``user`` hold exactly ``roles`` (saved): staff and superuser flags, groups."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be some of {', '.join(ROLES)}, not {', '.join(sorted(unknown))}")
    Group = global_apps.get_model("auth", "Group")
    user.is_staff = any(ROLE_ACCOUNTS[role][0] for role in roles)
    user.is_superuser = any(ROLE_ACCOUNTS[role][1] for role in roles)
    user.save()
    names = {name for role in roles for name in ROLE_ACCOUNTS[role][2]}
    if names:
        sync_groups()  # a database set up before the groups existed gets them now
    user.groups.set(Group.objects.filter(name__in=names))


def is_agent(user) -> bool:
    """May this user work cases and tickets in the agent console?"""
    return user.is_authenticated and user.is_active and user.has_perm("wizard.use_console")
