"""Agents read the markets (a claim's deadlines and remedies come from its market); superusers edit them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("markets")
    had_models_module = getattr(app_config, "models_module", None)
    app_config.models_module = had_models_module or True  # historical configs have none; create_permissions skips
    try:
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    finally:
        app_config.models_module = had_models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.using(using).get(content_type__app_label="markets", codename="view_market")
    for group in Group.objects.using(using).filter(name="agents"):
        group.permissions.add(view)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.using(schema_editor.connection.alias).filter(name="agents"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="markets"))


class Migration(migrations.Migration):
    dependencies = [("markets", "0002_seed_markets"), ("claims", "0005_agents_group")]
    operations = [migrations.RunPython(grant, revoke)]
