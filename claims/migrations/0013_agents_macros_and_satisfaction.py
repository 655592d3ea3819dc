"""Agents keep the canned replies (macros and their texts: view, add, change; a macro no longer wanted is made inactive,
so its usage count stays) and read the satisfaction results (view only: a rating is the buyer's or the seller's)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = [
    "view_macro", "add_macro", "change_macro",
    "view_macrotext", "add_macrotext", "change_macrotext", "delete_macrotext",
    "view_satisfactionresponse",
]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("claims")
    had_models_module = getattr(app_config, "models_module", None)
    app_config.models_module = had_models_module or True  # historical configs have none; create_permissions skips
    try:
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    finally:
        app_config.models_module = had_models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.using(using).filter(content_type__app_label="claims", codename__in=CODENAMES)
    for group in Group.objects.using(using).filter(name="agents"):
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    perms = Permission.objects.filter(content_type__app_label="claims", codename__in=CODENAMES)
    for group in Group.objects.using(schema_editor.connection.alias).filter(name="agents"):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("claims", "0012_workspace")]
    operations = [migrations.RunPython(grant, revoke)]
