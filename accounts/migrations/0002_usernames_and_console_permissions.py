"""Existing usernames in their one spelling (core.usernames: NFKC, case-folded). An account whose folded name another
account already has keeps its name as it was: an agent renames one of the two in the console.

Agents see and clear login lockouts (axes' access attempts: view, delete) and process erasure requests (view,
change, accounts.process_erasure). Frozen here on purpose, as claims 0005."""

import unicodedata

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = [
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),
    ("accounts", "view_erasurerequest"),
    ("accounts", "change_erasurerequest"),
    ("accounts", "process_erasure"),
]


def _normalize(text):
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()).strip()


def normalize_usernames(apps, schema_editor):
    User = apps.get_model("auth", "User")
    using = schema_editor.connection.alias
    taken = set(User.objects.using(using).values_list("username", flat=True))
    for user in User.objects.using(using).only("pk", "username"):
        folded = _normalize(user.username)
        if folded == user.username or folded in taken:
            continue
        taken.discard(user.username)
        taken.add(folded)
        User.objects.using(using).filter(pk=user.pk).update(username=folded)


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    for label in {app_label for app_label, _codename in PERMISSIONS}:
        app_config = apps.get_app_config(label)
        had_models_module = getattr(app_config, "models_module", None)
        app_config.models_module = had_models_module or True  # historical configs have none
        try:
            create_permissions(app_config, verbosity=0, using=using, apps=apps)
        finally:
            app_config.models_module = had_models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = [Permission.objects.using(using).get(content_type__app_label=app, codename=codename)
             for app, codename in PERMISSIONS]
    for group in Group.objects.using(using).filter(name="agents"):
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    using = schema_editor.connection.alias
    for group in Group.objects.using(using).filter(name="agents"):
        for app, codename in PERMISSIONS:
            group.permissions.remove(*Permission.objects.using(using).filter(content_type__app_label=app,
                                                                              codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("axes", "0010_accessattemptexpiration"),
        ("claims", "0005_agents_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [
        migrations.RunPython(normalize_usernames, migrations.RunPython.noop),
        migrations.RunPython(grant, revoke),
    ]
