"""Agents work in the console only: the admin is closed to them.

Accounts in the Agents group were made staff (so they could sign in to the admin and,
with the group's old permissions, change tickets there). Agents who are neither support
admins nor superusers stop being staff; the console asks for ``use_console`` instead,
which wizard.roles gives the Agents group after every migrate.
"""

from django.db import migrations


def agents_are_not_staff(apps, schema_editor):
    User = apps.get_model("auth", "User")
    agents = User.objects.filter(groups__name="Agents", is_staff=True, is_superuser=False)
    agents.exclude(groups__name="Support admins").update(is_staff=False)


class Migration(migrations.Migration):
    dependencies = [
        ("wizard", "0003_symptom_hazard"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="diagnosis",
            options={
                "ordering": ("-created",),
                "permissions": [
                    ("view_insights", "Can see what merchants hit (insights)"),
                    ("use_console", "Can work cases and tickets in the agent console"),
                ],
                "verbose_name": "diagnosis",
                "verbose_name_plural": "diagnoses",
            },
        ),
        # Going back leaves them as they are: who was staff before is not known.
        migrations.RunPython(agents_are_not_staff, migrations.RunPython.noop),
    ]
