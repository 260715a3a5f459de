"""The public transparency files and the ledger API, through HTTP."""

import base64
import json

import pytest
from django.test import Client
from django.urls import reverse

from solidaria.core.roles import Role
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, make_api_token
from solidaria.ledger import merkle, queries
from solidaria.ledger.actions import make_checkpoint
from solidaria.ledger.tests.factories import TEST_ACTOR, expense, income, post

pytestmark = pytest.mark.django_db


def _org_with_entries(count: int = 5):
    org = OrganizationFactory()
    for i in range(count):
        income(org, 100 + i, ref=f"P{i}")
    expense(org, 150, category="food", description="Lentils ñ")
    return org


def _url(org, name: str) -> str:
    return reverse(f"ledger:{name}", kwargs={"org_slug": org.slug})


def test_ledger_jsonl_streams_the_leaf_bytes_in_seq_order():
    # given
    org = _org_with_entries()

    # when
    response = Client().get(_url(org, "jsonl"))

    # then
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    body = b"".join(response.streaming_content)
    lines = body.split(b"\n")
    assert lines[-1] == b""
    assert len(lines) == 7
    for seq, line in enumerate(lines[:-1]):
        entry = json.loads(line)
        assert entry["seq"] == seq
        assert merkle.leaf_hash(line) == bytes(queries.entry_at(org=org, seq=seq).leaf_hash)
    assert "Lentils ñ".encode() in body


def test_checkpoint_key_and_proof_verify_together():
    # given
    org = _org_with_entries()
    make_checkpoint(org=org, actor=TEST_ACTOR)
    income(org, 1, ref="late")
    client = Client()

    # when
    checkpoint = client.get(_url(org, "checkpoint")).json()
    key = client.get(_url(org, "key"))
    proof = client.get(_url(org, "proof"), {"seq": 2}).json()
    explicit = client.get(_url(org, "proof"), {"seq": 6, "tree_size": 7}).json()
    newer = client.get(_url(org, "proof"), {"seq": 6}).json()
    consistency = client.get(_url(org, "consistency"), {"first": 3, "second": 7}).json()

    # then
    assert key["Content-Type"].startswith("text/plain")
    public = base64.b64decode(key.content, validate=True)
    assert len(public) == 32
    from solidaria.ledger import signing

    fields = {k: checkpoint[k] for k in ("organization", "tree_size", "root_hash", "timestamp")}
    assert signing.verify(public, fields, checkpoint["signature"])
    assert checkpoint["tree_size"] == 6
    assert proof["tree_size"] == 6
    assert proof["root_hash"] == checkpoint["root_hash"]
    assert merkle.verify_inclusion(
        2,
        6,
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    assert explicit["tree_size"] == 7
    assert newer == explicit
    assert merkle.verify_consistency(
        3,
        7,
        bytes.fromhex(consistency["first_root"]),
        bytes.fromhex(consistency["second_root"]),
        [bytes.fromhex(h) for h in consistency["proof"]],
    )
    assert consistency["second_root"] == explicit["root_hash"]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("proof", {}),
        ("proof", {"seq": "x"}),
        ("proof", {"seq": "-1"}),
        ("proof", {"seq": "6"}),
        ("proof", {"seq": "1", "tree_size": "99"}),
        ("proof", {"seq": "1", "tree_size": "1"}),
        ("proof", {"seq": "9" * 40}),
        ("proof", {"seq": "١"}),
        ("consistency", {"first": "0", "second": "3"}),
        ("consistency", {"first": "4", "second": "3"}),
        ("consistency", {"first": "1", "second": "70"}),
        ("consistency", {"first": "a"}),
    ],
)
def test_bad_parameters_answer_400_json(name, params):
    # given
    org = _org_with_entries()

    # when
    response = Client().get(_url(org, name), params)

    # then
    assert response.status_code == 400
    assert response.json()["detail"]


def test_unknown_organization_and_missing_checkpoint_answer_404_json():
    # given
    org = OrganizationFactory()
    client = Client()

    # when / then
    for name in ("jsonl", "checkpoint", "key", "proof", "consistency"):
        response = client.get(reverse(f"ledger:{name}", kwargs={"org_slug": "no-such-org"}))
        assert response.status_code == 404
        assert response.json()["detail"]
    assert client.get(_url(org, "checkpoint")).status_code == 404
    assert client.get(_url(org, "key")).status_code == 404
    assert b"".join(client.get(_url(org, "jsonl")).streaming_content) == b""


def test_public_files_answer_get_and_head_only():
    org = _org_with_entries(2)
    assert Client().head(_url(org, "jsonl")).status_code == 200
    assert Client().post(_url(org, "jsonl")).status_code == 405


# --- the API ------------------------------------------------------------------------------


def _api(org, role=Role.VIEWER) -> Client:
    membership = MembershipFactory(organization=org, role=role)
    return Client(headers={"Authorization": f"Bearer {make_api_token(membership)}"})


def test_api_lists_public_entries_after_a_seq():
    # given
    org = _org_with_entries()
    post(org, "allocation", 10, to_fund="water")
    other = _org_with_entries(2)
    client = _api(org)

    # when
    response = client.get("/api/v1/ledger/entries", {"after_seq": 3, "limit": 2})
    tail = client.get("/api/v1/ledger/entries", {"after_seq": 5}).json()

    # then
    assert response.status_code == 200, response.content
    page = response.json()
    assert page["count"] == 7
    assert [item["seq"] for item in page["items"]] == [4, 5]
    assert page["items"][1] == json.loads(queries.entry_at(org=org, seq=5).body)
    assert "to_fund" not in page["items"][0]
    assert tail["items"][0]["to_fund"] == "water"
    assert tail["items"][0] == json.loads(queries.entry_at(org=org, seq=6).body)
    assert queries.log_size(org=other) == 3


def test_api_checkpoint_and_proof():
    # given
    org = _org_with_entries()
    client = _api(org)

    # when
    missing = client.get("/api/v1/ledger/checkpoint")
    make_checkpoint(org=org, actor=TEST_ACTOR)
    checkpoint = client.get("/api/v1/ledger/checkpoint").json()
    proof = client.get("/api/v1/ledger/entries/4/proof").json()

    # then
    assert missing.status_code == 404
    assert checkpoint["tree_size"] == 6
    assert proof["root_hash"] == checkpoint["root_hash"]
    assert client.get("/api/v1/ledger/entries/6/proof").status_code == 404
    assert client.get("/api/v1/ledger/entries/2/proof", {"tree_size": 2}).status_code == 422
    assert client.get("/api/v1/ledger/entries", {"limit": 0}).status_code == 422


def test_api_needs_a_token():
    assert Client().get("/api/v1/ledger/entries").status_code == 401
