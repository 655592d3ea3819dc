"""`manage.py create_api_key --seller SLUG --name NAME [--scope write]`, or `--platform` for the shop's key (SPEC
section 9). The key goes to stdout alone, so a script can take it (`KEY=$(manage.py create_api_key …)`); what to do
with it goes to stderr. It is never shown again: only its hash is kept."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.keys import ApiKeyError, create_api_key
from integrations.models import ApiScope
from sellers.models import Seller


class Command(BaseCommand):
    help = ("Make an API key for a seller (--seller SLUG) or for the shop (--platform) and print it. It is shown "
            "once: only its hash is stored.")

    def add_arguments(self, parser: CommandParser) -> None:
        whose = parser.add_mutually_exclusive_group(required=True)
        whose.add_argument("--seller", metavar="SLUG", help="the seller whose staff the key acts as")
        whose.add_argument("--platform", action="store_true", help="a platform key, for the shop's endpoints")
        parser.add_argument("--name", required=True, help="what uses the key (shown in the key lists)")
        parser.add_argument("--scope", choices=ApiScope.values, default=ApiScope.READ,
                            help="read (the default) or write")

    def handle(self, *args: Any, seller: str | None = None, platform: bool = False, name: str = "",
               scope: str = ApiScope.READ, **options: Any) -> None:
        owner = None
        if seller is not None:
            owner = Seller.objects.filter(slug=seller).first()
            if owner is None:
                raise CommandError(f"There is no seller with the slug {seller!r}.")
        try:
            api_key, key = create_api_key(name=name, seller=owner, scope=scope)
        except ApiKeyError as exc:
            raise CommandError(str(exc)) from exc
        whose = f"seller {owner.slug}" if owner is not None else "the platform (the shop)"
        self.stdout.write(key)
        self.stderr.write(f"API key {api_key.name!r} ({api_key.prefix}…) for {whose}, scope {api_key.scope}. "
                          "It is shown this once and cannot be shown again: store it now.")
