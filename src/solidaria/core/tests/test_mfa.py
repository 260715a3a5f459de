"""Login and two-factor authentication, end to end through allauth's own pages."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core.cache import cache
from django.urls import reverse

from solidaria.core.models import Membership, User
from solidaria.core.roles import Role
from solidaria.core.tests.factories import PASSWORD, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
TOTP_PERIOD = 30


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth keeps rate limits and used TOTP codes in the cache: start each test clean."""
    cache.clear()
    yield
    cache.clear()


def code_for(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows now (or `steps_ahead` 30-second steps later)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // TOTP_PERIOD + steps_ahead))


def wrong_code_for(secret: str) -> str:
    """A six-digit code that no step allowed by MFA_TOTP_TOLERANCE accepts."""
    accepted = {code_for(secret, steps_ahead=step) for step in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(10)) if c not in accepted)


def log_in(client, user: User, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": user.email, "password": password})


def confirm_password(client, next_url: str):
    """allauth asks for the password again before an authenticator is added or removed."""
    return client.post(reverse("account_reauthenticate"), {"password": PASSWORD, "next": next_url})


def activate_totp(client) -> str:
    """Activate an authenticator app the way a person does; returns its secret."""
    client.get(reverse("mfa_activate_totp"))
    secret = client.session[SECRET_SESSION_KEY]
    client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})
    return secret


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def strict_member() -> Membership:
    """Staff of an organization that requires two-factor authentication."""
    return MembershipFactory(organization=OrganizationFactory(require_mfa=True), role=Role.ADMIN)


def dashboard(membership: Membership) -> str:
    return reverse("web:dashboard", args=[membership.organization.slug])


def test_staff_without_two_factor_are_sent_to_set_it_up(client, strict_member):
    # given
    client.force_login(strict_member.user)

    # when
    response = client.get(dashboard(strict_member))
    audit = client.get(reverse("core:audit", args=[strict_member.organization.slug]))

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
    assert audit["Location"] == reverse("mfa_index")
    page = client.get(reverse("mfa_index"))
    assert "requires two-factor authentication" in page.content.decode()


def test_a_recovery_code_set_alone_is_not_enough(client, strict_member):
    # given
    Authenticator.objects.create(
        user=strict_member.user, type=Authenticator.Type.RECOVERY_CODES, data={}
    )
    client.force_login(strict_member.user)

    # when
    response = client.get(dashboard(strict_member))

    # then
    assert response["Location"] == reverse("mfa_index")


def test_activating_totp_through_allauth_opens_the_organization(client, strict_member):
    # given a real login, sent to set up two-factor authentication
    assert log_in(client, strict_member.user).status_code == 302
    assert client.get(dashboard(strict_member))["Location"] == reverse("mfa_index")

    # when allauth first asks to confirm the password
    activate = reverse("mfa_activate_totp")
    ask = client.get(activate)
    confirm_page = client.get(ask["Location"])
    confirmed = confirm_password(client, activate)

    # then
    assert ask["Location"].startswith(reverse("account_reauthenticate"))
    assert 'class="site-header"' in confirm_page.content.decode()
    assert confirmed["Location"] == activate

    # when the activation page shows a secret and the app's code for it is typed in
    page = client.get(activate)
    secret = client.session[SECRET_SESSION_KEY]
    wrong = client.post(reverse("mfa_activate_totp"), {"code": wrong_code_for(secret)})
    right = client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})

    # then
    assert page.status_code == 200
    assert secret in page.content.decode()
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"]
    assert right.status_code == 302
    assert Authenticator.objects.filter(
        user=strict_member.user, type=Authenticator.Type.TOTP
    ).exists()
    assert client.get(dashboard(strict_member)).status_code == 200


def test_the_next_login_asks_for_the_code(client, strict_member):
    # given
    secret = generate_totp_secret()
    TOTP.activate(strict_member.user, secret)

    # when the password is right, a code is still missing
    response = log_in(client, strict_member.user)

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert not is_logged_in(client)
    assert client.get(dashboard(strict_member)).status_code == 302

    # when a wrong code is given
    wrong = client.post(reverse("mfa_authenticate"), {"code": wrong_code_for(secret)})

    # then
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"]
    assert not is_logged_in(client)

    # when the right code is given
    right = client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})

    # then
    assert right.status_code == 302
    assert is_logged_in(client)
    assert client.get(dashboard(strict_member)).status_code == 200


def test_a_totp_code_works_only_once(client, strict_member):
    # given
    secret = generate_totp_secret()
    TOTP.activate(strict_member.user, secret)
    code = code_for(secret)
    log_in(client, strict_member.user)
    client.post(reverse("mfa_authenticate"), {"code": code})
    client.post(reverse("account_logout"))

    # when
    log_in(client, strict_member.user)
    replay = client.post(reverse("mfa_authenticate"), {"code": code})

    # then
    assert replay.status_code == 200
    assert not is_logged_in(client)


def test_a_wrong_password_does_not_log_in(client):
    # given
    member = MembershipFactory()

    # when
    response = log_in(client, member.user, "not-the-password")

    # then
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not is_logged_in(client)


def test_repeated_wrong_passwords_lock_the_account_for_a_while(client):
    # given five failures for one email (ACCOUNT_RATE_LIMITS: 5 per 5 minutes per key)
    member = MembershipFactory()
    for _ in range(5):
        log_in(client, member.user, "not-the-password")

    # when the right password comes next
    response = log_in(client, member.user)

    # then
    assert not is_logged_in(client)
    assert "Too many failed login attempts" in response.content.decode()


def test_the_right_password_logs_in_and_goes_to_the_organization(client):
    # given
    member = MembershipFactory()

    # when
    response = log_in(client, member.user)

    # then
    assert response.status_code == 302
    assert is_logged_in(client)
    assert client.get(response["Location"])["Location"] == dashboard(member)


def test_sign_up_is_closed(client):
    # when
    page = client.get(reverse("account_signup"))
    attempt = client.post(
        reverse("account_signup"), {"email": "eve@example.org", "password1": "a-long-password-1"}
    )

    # then
    assert page.status_code == 200
    assert "closed" in page.content.decode()
    assert 'class="site-header"' in page.content.decode()
    assert attempt.status_code == 200
    assert not User.objects.filter(email="eve@example.org").exists()


def test_the_login_page_is_in_our_layout_with_labelled_fields(client):
    # when
    html = client.get(reverse("account_login")).content.decode()

    # then
    assert 'class="site-header"' in html
    assert 'class="skip-link"' in html
    assert "Menu:" not in html  # allauth's own layout
    assert '<label for="id_login">' in html
    assert '<label for="id_password">' in html
    assert reverse("account_signup") not in html
    assert reverse("account_reset_password") in html


def _allauth_pages_of_a_logged_in_user(client, user: User) -> list[str]:
    log_in(client, user)
    confirm_password(client, reverse("mfa_index"))
    return [
        reverse("mfa_index"),
        reverse("mfa_activate_totp"),
        reverse("mfa_add_webauthn"),
        reverse("mfa_list_webauthn"),
        reverse("account_change_password"),
        reverse("account_logout"),
    ]


def test_every_allauth_page_renders_in_our_layout(client):
    # given
    member = MembershipFactory()
    pages = [reverse("account_reset_password"), reverse("account_reset_password_done")]
    anonymous = [client.get(page) for page in pages]
    signed_in = [
        client.get(page) for page in _allauth_pages_of_a_logged_in_user(client, member.user)
    ]

    # then
    for response in anonymous + signed_in:
        html = response.content.decode()
        assert response.status_code == 200, response.request["PATH_INFO"]
        assert 'class="site-header"' in html, response.request["PATH_INFO"]
        assert html.count("<h1") == 1, response.request["PATH_INFO"]
        assert "Menu:" not in html


def test_the_two_factor_pages_after_activation_render_in_our_layout(client, strict_member):
    # given
    log_in(client, strict_member.user)
    confirm_password(client, reverse("mfa_index"))
    activate_totp(client)

    # when
    pages = [
        client.get(reverse("mfa_view_recovery_codes")),
        client.get(reverse("mfa_generate_recovery_codes")),
        client.get(reverse("mfa_deactivate_totp")),
        client.get(reverse("mfa_index")),
    ]

    # then
    for response in pages:
        assert response.status_code == 200, response.request["PATH_INFO"]
        assert 'class="site-header"' in response.content.decode()
    assert "Deactivate" in pages[3].content.decode()
    client.post(reverse("account_logout"))
    log_in(client, strict_member.user)
    step = client.get(reverse("mfa_authenticate"))
    assert step.status_code == 200
    assert 'class="site-header"' in step.content.decode()
    assert '<label for="id_code">' in step.content.decode()
