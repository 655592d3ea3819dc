"""The "agents" group: exactly what a support agent needs in the support console (the Django admin).

The permission list is frozen here on purpose (a migration must not follow later code). What each one is for:

    claims.act_as_agent        claims.roles.is_agent: the services let this person act as the platform
    claims.view_claim          the claim list, the claim page, the escalated queue
    claims.change_claim        the claim page's actions (request info, decide, reopen, assign, notes, offers, ...);
                               the claim form itself stays read-only, every change goes through claims.services
    claims.add_claim           recording a payment-provider dispute (it opens a claim)
    sellers.view_seller        seller list and page
    sellers.change_seller      vetting (verify, activate, suspend, reinstate) and the seller's contact details
    sellers.view_warrantypolicy, sellers.view_sellermembership
                               read-only sections of the seller page
    sellers.view_ledgerentry   the ledger (read-only: entries are never edited or deleted)
    sellers.add_ledgerentry    adjustments, which are new ledger entries
    orders.view_order, orders.view_orderitem, orders.view_shipment
                               the order page an agent checks a claim against (read-only)

Nothing here deletes: no delete permission on claims, the ledger or the transition log.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "agents"

PERMISSIONS = [
    ("claims", "act_as_agent"),
    ("claims", "view_claim"),
    ("claims", "change_claim"),
    ("claims", "add_claim"),
    ("sellers", "view_seller"),
    ("sellers", "change_seller"),
    ("sellers", "view_warrantypolicy"),
    ("sellers", "view_sellermembership"),
    ("sellers", "view_ledgerentry"),
    ("sellers", "add_ledgerentry"),
    ("orders", "view_order"),
    ("orders", "view_orderitem"),
    ("orders", "view_shipment"),
]


def ensure_permissions(apps, using):
    """Permissions are normally created after all migrations (post_migrate); this migration needs them now."""
    for label in {app_label for app_label, _codename in PERMISSIONS}:
        app_config = apps.get_app_config(label)
        had_models_module = getattr(app_config, "models_module", None)
        # Historical app configs have no models module, and create_permissions skips apps without one.
        app_config.models_module = had_models_module or True
        try:
            create_permissions(app_config, verbosity=0, using=using, apps=apps)
        finally:
            app_config.models_module = had_models_module


def create_agents_group(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor is not None else "default"
    ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = []
    for app_label, codename in PERMISSIONS:
        permissions.append(Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename))
    group, _created = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.set(permissions)


def remove_agents_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("claims", "0004_activity_and_views"),
        ("sellers", "0002_language"),
        ("orders", "0002_language"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_agents_group, remove_agents_group),
    ]
