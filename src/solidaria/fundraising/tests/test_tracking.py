"""The donor tracking page `/t/<token>` and its JSON, checked against the public log alone."""

import base64
import datetime
import hashlib

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import override_settings
from django.utils import timezone

from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions
from solidaria.fundraising.models import Donation
from solidaria.ledger import queries as ledger_queries
from solidaria.ledger.actions import make_checkpoint
from solidaria.people.tests.factories import TEST_ACTOR, make_contact
from solidaria.web.tests.conftest import TIMEOUT_MS, axe_source, browser  # noqa: F401
from solidaria.web.tests.test_accessibility import assert_accessible

pytestmark = pytest.mark.django_db

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DESIGN_FIELDS = {
    "ref",
    "amount",
    "currency",
    "fund",
    "seq",
    "checkpoint",
    "inclusion_proof",
    "trace",
}


def gift(org, contact, amount=5000, fund=None, *, confirm=True):
    fund = fund or actions.ensure_general_fund(org=org)
    donation = actions.start_donation(
        org=org,
        actor=TEST_ACTOR,
        contact=contact,
        amount_minor=amount,
        currency="EUR",
        fund=fund,
        method="bank_transfer",
    )
    if confirm:
        donation = actions.confirm_donation(
            donation=donation,
            actor=TEST_ACTOR,
            received_at=timezone.now() - datetime.timedelta(days=2),
        )
    return donation


def spend(org, amount, description="Blankets for the night shelter", category="supplies"):
    return actions.record_expense(
        org=org,
        actor=TEST_ACTOR,
        fund=actions.ensure_general_fund(org=org),
        amount_minor=amount,
        currency="EUR",
        description=description,
        category=category,
        spent_at=timezone.now() - datetime.timedelta(days=1),
    )


# RFC 9162 §2.1, written here from the RFC so the test does not trust the ledger's own code.
def _leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def rfc9162_verify_inclusion(
    index: int, size: int, leaf_hash: bytes, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_tracking_json_has_the_design_fields_a_verifiable_proof_and_the_ledgers_trace(client):
    # given a gift, part of it spent, under a signed checkpoint
    org = OrganizationFactory()
    donation = gift(org, make_contact(org, emails=["ana@example.org"]), amount=5000)
    spend(org, 3000)
    gift(org, make_contact(org), amount=700)  # a later gift: the tree is not a power of two
    make_checkpoint(org=org, actor=TEST_ACTOR)

    # when the tracking data is fetched with nothing but the token
    response = client.get(f"/t/{donation.tracking_token}.json")

    # then it carries DESIGN.md's fields with the gift's values
    assert response.status_code == 200
    data = response.json()
    assert set(data) >= DESIGN_FIELDS
    assert data["ref"] == donation.public_ref
    assert (data["amount"], data["currency"], data["fund"]) == (5000, "EUR", "general")
    assert data["seq"] == donation.ledger_seq == data["leaf_index"]
    # and the trace is the ledger's, item for item
    trace = ledger_queries.trace_for(org=org, ref=donation.public_ref)
    assert data["trace"] == [{"seq": i.seq, "amount": i.amount} for i in trace.items]
    assert data["trace"][0]["amount"] == 3000
    assert data["unspent"] == 2000
    # and the proof, checked independently, ties the leaf to the signed root
    checkpoint = data["checkpoint"]
    assert set(checkpoint) >= {"organization", "tree_size", "root_hash", "timestamp", "signature"}
    assert checkpoint["tree_size"] == 3
    leaf = rfc8785.dumps(data["leaf"])
    path = [bytes.fromhex(h) for h in data["inclusion_proof"]]
    root = bytes.fromhex(checkpoint["root_hash"])
    assert rfc9162_verify_inclusion(
        data["seq"], checkpoint["tree_size"], _leaf_hash(leaf), path, root
    )
    # and a tampered proof does not verify
    tampered = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
    assert not rfc9162_verify_inclusion(
        data["seq"], checkpoint["tree_size"], _leaf_hash(leaf), tampered, root
    )
    # and the checkpoint's signature verifies with the published key
    key = base64.b64decode(client.get(data["links"]["key"]).content.strip())
    signed = {k: checkpoint[k] for k in ("organization", "tree_size", "root_hash", "timestamp")}
    Ed25519PublicKey.from_public_bytes(key).verify(
        base64.b64decode(checkpoint["signature"]), rfc8785.dumps(signed)
    )


def test_the_leaf_is_the_public_logs_line(client):
    # given a confirmed gift
    org = OrganizationFactory()
    donation = gift(org, make_contact(org))
    make_checkpoint(org=org, actor=TEST_ACTOR)

    # when its tracking data and the public log are read
    data = client.get(f"/t/{donation.tracking_token}.json").json()
    log = b"".join(client.get(data["links"]["ledger"]).streaming_content).splitlines()

    # then the leaf is exactly that log's line
    assert rfc8785.dumps(data["leaf"]) == log[data["seq"]]


@pytest.mark.parametrize("suffix", ["", ".json"])
def test_unknown_token_is_404(client, suffix):
    # given a gift whose token we do not use
    org = OrganizationFactory()
    gift(org, make_contact(org))

    # when a made-up token is asked for
    response = client.get(f"/t/AAAAAAAAAAAAAAAAAAAAAA{suffix}")

    # then nothing is found
    assert response.status_code == 404


def test_pending_gift_has_no_seq_proof_or_trace_yet(client):
    # given a gift still waiting for its bank transfer
    org = OrganizationFactory()
    donation = gift(org, make_contact(org), confirm=False)

    # when its tracking data and page are read
    data = client.get(f"/t/{donation.tracking_token}.json").json()
    page = client.get(f"/t/{donation.tracking_token}")

    # then it says pending, with no place in the log yet
    assert data["status"] == "pending"
    assert data["seq"] is None
    assert data["inclusion_proof"] is None
    assert data["trace"] == []
    assert page.status_code == 200
    assert "We have not received this gift yet" in page.content.decode()


def test_gift_newer_than_the_checkpoint_says_its_proof_is_pending(client):
    # given a checkpoint, then a new gift
    org = OrganizationFactory()
    gift(org, make_contact(org))
    make_checkpoint(org=org, actor=TEST_ACTOR)
    donation = gift(org, make_contact(org))

    # when its tracking data is read
    data = client.get(f"/t/{donation.tracking_token}.json").json()

    # then it has its seq, but no proof against a checkpoint that does not contain it
    assert data["seq"] == 1
    assert data["checkpoint"]["tree_size"] == 1
    assert data["inclusion_proof"] is None
    assert data["proof_pending"] is True


def test_gift_newer_than_the_checkpoint_asks_for_one_and_then_has_its_proof(client):
    # given a checkpoint, then a new gift
    org = OrganizationFactory()
    gift(org, make_contact(org))
    make_checkpoint(org=org, actor=TEST_ACTOR)
    donation = gift(org, make_contact(org))

    # when its data is read with a worker that runs jobs at once, then read again
    with override_settings(TASKS=IMMEDIATE_TASKS):
        first = client.get(f"/t/{donation.tracking_token}.json").json()
    second = client.get(f"/t/{donation.tracking_token}.json").json()

    # then the first read asked for a checkpoint, and the second has the proof
    assert first["inclusion_proof"] is None
    assert ledger_queries.latest_checkpoint(org=org).tree_size == 2
    assert second["checkpoint"]["tree_size"] == 2
    assert second["inclusion_proof"] is not None


def test_tracking_page_shows_what_the_gift_paid_for_and_no_personal_data(client):
    # given a donor with a distinctive name and email whose gift was partly spent
    org = OrganizationFactory()
    contact = make_contact(
        org, given_name="Zenobia", family_name="Quarterfield", emails=["zq@example.net"]
    )
    donation = gift(org, contact, amount=5000)
    spend(org, 1250, description="Sleeping bags", category="shelter")
    make_checkpoint(org=org, actor=TEST_ACTOR)

    # when the tracking page and its data are fetched
    page = client.get(f"/t/{donation.tracking_token}", HTTP_ACCEPT_LANGUAGE="en")
    data = client.get(f"/t/{donation.tracking_token}.json")

    # then the page shows the expense and the links to check it
    html = page.content.decode()
    assert page.status_code == 200
    assert "Sleeping bags" in html
    assert "shelter" in html
    assert "€12.50" in html  # from this gift
    assert "€37.50" in html  # still unspent
    assert f"/{org.slug}/transparency/ledger.jsonl" in html
    assert f"/{org.slug}/transparency/checkpoint.json" in html
    assert f"/{org.slug}/transparency/key" in html
    assert f"/t/{donation.tracking_token}.json" in html
    # and neither the page nor the data says who gave
    for body in (html, data.content.decode()):
        assert "Zenobia" not in body
        assert "Quarterfield" not in body
        assert "zq@example.net" not in body
    assert page["Referrer-Policy"] == "no-referrer"


def test_tracking_page_speaks_the_visitors_language(client):
    # given a confirmed gift
    org = OrganizationFactory()
    donation = gift(org, make_contact(org), amount=1250)

    # when a Spanish-speaking visitor opens the page
    page = client.get(f"/t/{donation.tracking_token}", HTTP_ACCEPT_LANGUAGE="es")

    # then amounts are written the Spanish way
    assert "12,50\xa0€" in page.content.decode()


def test_refunded_gift_shows_the_refund_in_its_trace(client):
    # given a gift refunded in part
    org = OrganizationFactory()
    donation = gift(org, make_contact(org), amount=4000)
    refund = actions.refund_donation(donation=donation, actor=TEST_ACTOR, amount_minor=1000)

    # when its data is read
    data = client.get(f"/t/{donation.tracking_token}.json").json()

    # then the refund is traced to the gift
    assert {"seq": refund.ledger_seq, "amount": 1000} in data["trace"]
    assert data["unspent"] == 3000


def test_failed_gift_has_no_trace(client):
    # given a gift whose payment failed
    org = OrganizationFactory()
    donation = gift(org, make_contact(org), confirm=False)
    actions.fail_donation(donation=donation, actor=TEST_ACTOR, reason="declined")

    # when its page and data are read
    data = client.get(f"/t/{donation.tracking_token}.json").json()
    page = client.get(f"/t/{donation.tracking_token}", HTTP_ACCEPT_LANGUAGE="en")

    # then it says so
    assert data["status"] == Donation.Status.FAILED
    assert data["seq"] is None
    assert "did not go through" in page.content.decode()


@pytest.mark.browser
@pytest.mark.slow
def test_tracking_page_is_accessible(browser, live_server, transactional_db, axe_source):  # noqa: F811
    """Slow: a real browser and axe-core."""
    # given a gift partly spent, under a checkpoint
    org = OrganizationFactory()
    donation = gift(org, make_contact(org))
    spend(org, 1000)
    make_checkpoint(org=org, actor=TEST_ACTOR)
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    # when its tracking page is opened
    page.goto(f"/t/{donation.tracking_token}")

    # then it passes axe-core's WCAG checks
    assert_accessible(page, axe_source)
    context.close()
