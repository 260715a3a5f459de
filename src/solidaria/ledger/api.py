"""The ledger API: public entries, the latest checkpoint and inclusion proofs (`ledger.view`)."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from solidaria.core.api import Input, caller_for, errors
from solidaria.core.errors import Invalid, NotFound
from solidaria.ledger import queries
from solidaria.ledger.models import EntryType

router = Router(tags=["ledger"])


class PublicEntryOut(Schema):
    """A public ledger entry, as in ledger.jsonl; optional keys appear only when set."""

    seq: int = Field(description="0-based; the entry's leaf index in the Merkle tree.")
    type: EntryType
    at: str = Field(examples=["2026-03-01T09:00:00Z"])
    fund: str
    amount: int = Field(description="Integer minor units.")
    currency: str
    ref: str = Field(description="Opaque public reference; never personal data.")
    to_fund: str | None = Field(None, description="Allocations (and their reversals).")
    reverses: int | None = Field(None, description="Reversals: the seq they reverse.")
    category: str | None = None
    description: str | None = None
    evidence_sha256: str | None = None


class EntriesPage(Schema):
    items: list[PublicEntryOut]
    count: int = Field(description="Entries in the whole log.")


class EntriesQuery(Input):
    after_seq: int = Field(-1, ge=-1, le=2**53, description="Entries with a greater seq.")
    limit: int = Field(100, ge=1, le=1000)


class CheckpointOut(Schema):
    organization: str
    tree_size: int
    root_hash: str = Field(description="Hex SHA-256 Merkle root of the first tree_size entries.")
    timestamp: str
    signature: str = Field(
        description="Base64 Ed25519 signature over the RFC 8785 bytes of the other four fields."
    )


class ProofQuery(Input):
    tree_size: int | None = Field(
        None,
        ge=1,
        le=2**53,
        description="Defaults to the latest checkpoint's tree size, or to the log's when the "
        "entry is newer than that checkpoint.",
    )


class ProofOut(Schema):
    seq: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]
    root_hash: str


@router.get(
    "/ledger/entries",
    response={200: EntriesPage, **errors(401, 403, 422)},
    exclude_none=True,
)
def list_ledger_entries(request: HttpRequest, filters: Query[EntriesQuery]) -> EntriesPage:
    """Public entries in seq order after `after_seq`, at most `limit`."""
    caller = caller_for(request, "ledger.view")
    items = queries.entries_page(org=caller.org, after_seq=filters.after_seq, limit=filters.limit)
    return EntriesPage(
        items=[PublicEntryOut(**item) for item in items],
        count=queries.log_size(org=caller.org),
    )


@router.get("/ledger/checkpoint", response={200: CheckpointOut, **errors(401, 403, 404)})
def get_ledger_checkpoint(request: HttpRequest) -> CheckpointOut:
    """The latest signed tree head (checkpoint.json)."""
    caller = caller_for(request, "ledger.view")
    found = queries.latest_checkpoint(org=caller.org)
    if found is None:
        raise NotFound(_("No checkpoint has been signed yet."))
    return CheckpointOut(**queries.checkpoint_json(found, org=caller.org))


@router.get("/ledger/entries/{seq}/proof", response={200: ProofOut, **errors(401, 403, 404, 422)})
def get_ledger_proof(request: HttpRequest, seq: int, params: Query[ProofQuery]) -> ProofOut:
    """The inclusion proof of entry `seq` against the tree of `tree_size` entries."""
    caller = caller_for(request, "ledger.view")
    size = queries.log_size(org=caller.org)
    if not 0 <= seq < size:
        raise NotFound(_("No such entry in the ledger."))
    tree_size = params.tree_size or queries.default_tree_size(org=caller.org, seq=seq)
    if not seq < tree_size <= size:
        raise Invalid(
            _("The tree size must be above the seq and at most %(size)s.") % {"size": size},
            field="tree_size",
        )
    return ProofOut(**queries.proof_json(org=caller.org, seq=seq, tree_size=tree_size))
