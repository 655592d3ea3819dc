import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from sellers.models import MembershipRole, Seller, SellerMembership, WarrantyPolicy


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-only")


def make_agent(**kwargs):
    """A support agent: staff with the claims.act_as_agent permission."""
    user = UserFactory(is_staff=True, **kwargs)
    user.user_permissions.add(Permission.objects.get(codename="act_as_agent", content_type__app_label="claims"))
    return get_user_model().objects.get(pk=user.pk)  # fresh instance: no stale permission cache


class SellerFactory(factory.django.DjangoModelFactory):
    """An active, vetted seller with the default warranty policy."""

    class Meta:
        model = Seller
        skip_postgeneration_save = True

    display_name = factory.Sequence(lambda n: f"Seller {n}")
    slug = factory.Sequence(lambda n: f"seller-{n}")
    legal_name = factory.LazyAttribute(lambda s: f"{s.display_name} GmbH")
    registration_number = factory.Sequence(lambda n: f"HRB {10000 + n}")
    tax_id = factory.Sequence(lambda n: f"DE{100000000 + n}")
    identity_verified_at = factory.LazyFunction(lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    registration_verified_at = factory.LazyFunction(lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    tax_verified_at = factory.LazyFunction(lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    status = "active"

    class Params:
        # Signed up and not vetted yet: agents verify and activate it through sellers.services (the demo does).
        pending = factory.Trait(status="pending", identity_verified_at=None, registration_verified_at=None,
                                tax_verified_at=None)

    @factory.post_generation
    def warranty_policy(obj, create, extracted, **kwargs):  # noqa: N805
        """`warranty_policy__months_used=18` and the like set the policy's fields."""
        if create:
            WarrantyPolicy.objects.get_or_create(
                seller=obj, defaults={"return_address": "Returns, 1 Depot St, Berlin", **kwargs})


class SellerMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SellerMembership

    user = factory.SubFactory(UserFactory)
    seller = factory.SubFactory(SellerFactory)
    role = MembershipRole.STAFF
