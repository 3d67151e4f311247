"""The two roles: support admins keep the knowledge, agents run the console."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CONTENT = ("category", "provider", "symptom", "cause", "evidence", "causesolution", "question", "option", "solution")
RECORDS = ("diagnosis", "answer", "ticket", "caseevent")


def codenames(models, actions):
    return [f"{action}_{model}" for model in models for action in actions]


ROLES = {
    "Support admins": [
        *codenames(CONTENT, ("add", "change", "delete", "view")),
        *codenames(RECORDS, ("view",)),
        "change_ticket",
        "view_knowledgerevision",
        "publish_knowledge",
        "view_insights",
    ],
    "Agents": [
        *codenames(CONTENT, ("view",)),
        *codenames(RECORDS, ("view",)),
        "change_ticket",
        "view_knowledgerevision",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the roles need them now.
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(content_type__app_label="wizard", codename__in=wanted))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("wizard", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
