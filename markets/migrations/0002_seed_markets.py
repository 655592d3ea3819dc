"""Germany, Portugal and Slovakia with their statutory values (checked against the law texts named in `law`)."""

from django.db import migrations

MARKETS = [
    {
        "country": "DE", "name": "Germany", "time_zone": "Europe/Berlin", "languages": "de,en",
        "warranty_months_new": 24, "warranty_months_like_new": 12, "warranty_months_used": 12,
        "warranty_claim_days": None, "warranty_claim_max_days": None, "dispute_window_days": 100,
        "law": "BGB § 438 (1) Nr. 3: two years from delivery. BGB § 476 (2): for used goods the parties may agree "
               "on no less than one year. BGB § 475 (5): repair or replacement within a reasonable period from the "
               "buyer's notice, no fixed number of days.",
    },
    {
        "country": "PT", "name": "Portugal", "time_zone": "Europe/Lisbon", "languages": "pt,en",
        "warranty_months_new": 36, "warranty_months_like_new": 36, "warranty_months_used": 18,
        "warranty_claim_days": 30, "warranty_claim_max_days": None, "dispute_window_days": 100,
        "law": "Decreto-Lei n.º 84/2021, art. 12.º: three years from delivery for goods bought since 1 January 2022; "
               "for used goods the parties may agree on no less than 18 months, reconditioned goods keep three "
               "years. Art. 18.º: repair or replacement within at most 30 days, unless the nature and complexity "
               "of the goods justify longer.",
    },
    {
        "country": "SK", "name": "Slovakia", "time_zone": "Europe/Bratislava", "languages": "sk,en",
        "warranty_months_new": 24, "warranty_months_like_new": 12, "warranty_months_used": 12,
        "warranty_claim_days": 30, "warranty_claim_max_days": 60, "dispute_window_days": 100,
        "law": "Občiansky zákonník (40/1964 Zb.) § 620: 24 months; for used goods no less than 12 by agreement. "
               "Consumer protection act (108/2024 Z. z., before it 250/2007 Z. z. § 18 ods. 4): a warranty claim "
               "is resolved within 30 days. The seller's warranty claim policy: the 30 days run from when the "
               "written claim and the goods reached the seller, expert assessment excluded, and never more than "
               "60 days; past them the buyer has the rights of an irremovable defect.",
    },
]


def seed(apps, schema_editor):
    Market = apps.get_model("markets", "Market")
    for data in MARKETS:
        Market.objects.update_or_create(country=data["country"], defaults=data)


def unseed(apps, schema_editor):
    apps.get_model("markets", "Market").objects.filter(country__in=[m["country"] for m in MARKETS]).delete()


class Migration(migrations.Migration):
    dependencies = [("markets", "0001_markets")]
    operations = [migrations.RunPython(seed, unseed)]
