"""Factories for core rows. Use the actions where behaviour matters; these make plain rows."""

import factory

from solidaria.core.actions import create_api_token
from solidaria.core.audit import Actor
from solidaria.core.models import Membership, Network, Organization, User
from solidaria.core.roles import Role

PASSWORD = "correct-horse-battery-staple"


class NetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Network

    slug = factory.Sequence(lambda n: f"net{n}")
    name = factory.Sequence(lambda n: f"Network {n}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")
    country = "ES"
    currency = "EUR"
    language = "es"
    time_zone = "Europe/Madrid"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Staff Member {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ADMIN


def make_api_token(membership: Membership | None = None, **membership_fields: object) -> str:
    """A new API token (the raw secret) for `membership`, or for a new staff member."""
    if membership is None:
        membership = MembershipFactory(**membership_fields)
    _token, raw = create_api_token(
        org=membership.organization,
        actor=Actor.system("test"),
        user=membership.user,
        name="test",
    )
    return raw
