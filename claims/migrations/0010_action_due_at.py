from django.db import migrations, models


def backfill(apps, schema_editor):
    """Store what claims.deadlines computes for every open claim (resolved claims have nothing due)."""
    from claims import deadlines

    Claim = apps.get_model("claims", "Claim")
    batch = []
    for claim in Claim.objects.exclude(state="resolved").order_by("pk").iterator(chunk_size=2000):
        events = deadlines.due_events(claim)
        action = deadlines.action_due(events)
        claim.next_deadline_at = deadlines.next_deadline(events)
        claim.action_due_at = action.at if action else None
        batch.append(claim)
        if len(batch) == 2000:
            Claim.objects.bulk_update(batch, ["next_deadline_at", "action_due_at"])
            batch = []
    Claim.objects.bulk_update(batch, ["next_deadline_at", "action_due_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0009_warranty_days_credited'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='claim',
            name='claim_seller_queue_idx',
        ),
        migrations.AddField(
            model_name='claim',
            name='action_due_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='deadline that matters now'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('state__in', ['awaiting_seller', 'in_progress', 'awaiting_return', 'escalated', 'awaiting_info'])), fields=['seller', 'action_due_at', 'opened_at', 'id'], include=('state', 'info_requested_from', 'last_activity_at'), name='claim_seller_queue_idx'),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(fields=['action_due_at', '-opened_at', '-id'], name='claim_action_due_idx'),
        ),
    ]
