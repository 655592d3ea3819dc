"""An index of the active staff accounts, for the claim page's assign form (claims.admin_forms.agents): the agents
are a handful among every buyer and seller, and without it each claim page reads the whole user table to find them
(a sequential scan of hundreds of thousands of accounts at a million claims). Django's User model is not ours to give
a Meta index, so it is written here; PostgreSQL and SQLite both know partial indexes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_usernames_and_console_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX accounts_active_staff_idx ON auth_user (id) WHERE is_staff AND is_active",
            reverse_sql="DROP INDEX accounts_active_staff_idx",
        ),
    ]
