"""`manage.py create_api_key`: a seller's or the shop's key, printed once, that authenticates."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from integrations.keys import authenticate
from integrations.models import ApiKey
from sellers.models import SellerMembership
from sellers.tests.factories import SellerFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_sellers_key_is_printed_alone_and_authenticates_as_its_staff():
    seller = SellerFactory(slug="phones-direct")
    out, err = run("--seller", "phones-direct", "--name", "ERP")
    key = out.strip()
    assert out == key + "\n"  # nothing else on stdout: KEY=$(manage.py create_api_key …) takes the key
    api_key = authenticate(key)
    assert api_key is not None
    assert (api_key.name, api_key.seller, api_key.scope, api_key.is_platform) == ("ERP", seller, "read", False)
    assert SellerMembership.objects.filter(user=api_key.user, seller=seller, role="staff").exists()
    assert "shown this once" in err and api_key.prefix in err and key not in err
    assert key not in (api_key.hashed_key, api_key.prefix)


def test_scope_write_and_a_platform_key():
    out, _err = run("--platform", "--name", "Shop", "--scope", "write")
    api_key = authenticate(out.strip())
    assert (api_key.is_platform, api_key.scope, api_key.may_write) == (True, "write", True)
    assert not SellerMembership.objects.filter(user=api_key.user).exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--name", "No owner"), "one of the arguments --seller --platform is required"),
    (("--platform", "--seller", "phones-direct", "--name", "Both"), "not allowed with argument"),
    (("--platform",), "--name"),
    (("--platform", "--name", "   "), "Give the key a name"),
    (("--platform", "--name", "Shop", "--scope", "admin"), "invalid choice"),
    (("--seller", "nobody", "--name", "ERP"), "no seller with the slug 'nobody'"),
])
def test_wrong_arguments_and_an_unknown_seller_are_errors_and_make_no_key(args, message):
    SellerFactory(slug="phones-direct")
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not ApiKey.objects.exists()
