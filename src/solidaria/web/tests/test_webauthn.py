"""Two-factor authentication with a security key (WebAuthn), end to end in a real browser.

Chromium's virtual authenticator (DevTools' WebAuthn domain) plays the key: the browser runs
allauth's own scripts under our Content-Security-Policy, the server checks real signatures.
The live server answers on http://localhost:<port>, a secure context whose host is a valid
relying-party ID (an IP address such as 127.0.0.1 is not).
"""

from collections.abc import Iterator

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import CDPSession, ConsoleMessage, Page, Response, expect

from solidaria.core.models import Membership
from solidaria.core.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A platform authenticator that verifies its user and answers without a touch.
VIRTUAL_KEY = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def security_key(page: Page) -> Iterator[tuple[CDPSession, str]]:
    """A virtual authenticator attached to the page's browser tab: (DevTools session, its id)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator_id = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_KEY})[
        "authenticatorId"
    ]
    yield cdp, authenticator_id
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator_id})
    cdp.send("WebAuthn.disable")


@pytest.fixture
def browser_errors(page: Page) -> list[str]:
    """Console errors (a CSP violation is one) and uncaught exceptions, as the page runs.

    Also a document served without our script policy, which would make "no violation" hollow.
    """
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    def on_response(response: Response) -> None:
        if response.request.resource_type == "document" and response.status == 200:
            policy = response.headers.get("content-security-policy", "")
            if "script-src 'self'" not in policy or "unsafe-inline" in policy:
                errors.append(f"policy: {response.url} has {policy!r}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("response", on_response)
    return errors


def log_in_with_password(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def credentials(key: tuple[CDPSession, str]) -> list[dict]:
    cdp, authenticator_id = key
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def test_staff_add_a_security_key_when_required_and_log_in_with_it(
    page: Page,
    admin: Membership,
    live_server,
    security_key: tuple[CDPSession, str],
    browser_errors: list[str],
):
    """Slow: a real browser through allauth's WebAuthn pages, twice, with a virtual key."""
    # given: an organization that requires two-factor authentication, an admin without any
    org, user = admin.organization, admin.user
    org.require_mfa = True
    org.save(update_fields=["require_mfa"])
    assert live_server.url.startswith("http://localhost:")
    dashboard = f"{live_server.url}/app/{org.slug}/"

    # when: they log in and open their organization
    page.goto("/accounts/login/")
    log_in_with_password(page, user.email)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(dashboard)

    # then: they are sent to set up two-factor authentication, and told why
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/")
    expect(page.get_by_text(f"{org.name} requires two-factor authentication")).to_be_visible()

    # when: they choose to add a security key
    keys_panel = page.locator("section", has=page.get_by_role("heading", name="Security Keys"))
    keys_panel.get_by_role("link", name="Add", exact=True).click()

    # then: allauth asks for the password again first (its MFA pages accept only an explicit
    # re-authentication, never the login itself), then shows the form
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/webauthn/add/")

    # when: they name the key and add it; the browser asks the key to make a credential
    page.get_by_label("Name").fill("Office key")
    page.get_by_role("button", name="Add", exact=True).click()

    # then: the key holds one credential for this site, allauth stores it, and recovery
    # codes are generated for the day the key is lost
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/recovery-codes/")
    [credential] = credentials(security_key)
    assert credential["rpId"] == "localhost"
    signatures_at_registration = credential["signCount"]
    key = Authenticator.objects.get(user=user, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Office key"
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()

    # and: the dashboard opens
    page.goto(dashboard)
    expect(page).to_have_url(dashboard)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")

    # when: they log out and come back with their email and password
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    page.goto(dashboard)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/app/{org.slug}/")
    log_in_with_password(page, user.email)

    # then: the password alone does not let them in; allauth asks for the second factor
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/authenticate/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    not_yet = page.request.get(dashboard, max_redirects=0)  # with the browser's cookies
    assert not_yet.status == 302
    assert not_yet.headers["location"] == f"/accounts/login/?next=/app/{org.slug}/"
    key.refresh_from_db()
    assert key.last_used_at is None

    # when: they use the security key
    page.get_by_role("button", name="Use a security key").click()

    # then: the key signed this login and the dashboard opens where they were going
    expect(page).to_have_url(dashboard)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    [credential] = credentials(security_key)
    assert credential["signCount"] > signatures_at_registration
    key.refresh_from_db()
    assert key.last_used_at is not None

    # and: nothing the pages ran was blocked or failed
    assert browser_errors == []
