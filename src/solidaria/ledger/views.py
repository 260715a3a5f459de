"""The public transparency files under /<org>/transparency/: no login, JSON or text, CORS open.

Anyone may fetch these to verify the ledger themselves; unknown organizations answer 404 and
bad parameters 400, both as JSON `{"detail": …}`.
"""

import base64
from collections.abc import Callable, Iterator
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from solidaria.core.models import Organization
from solidaria.ledger import queries
from solidaria.ledger.merkle import hex_list


class _BadRequest(Exception):
    pass


def _detail(message: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


def public_file(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve `org_slug` (404 JSON if unknown), map bad parameters to 400, open CORS."""

    @require_safe
    @wraps(view)
    def wrapper(request: HttpRequest, org_slug: str) -> HttpResponse:
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            response: HttpResponse = _detail(_("No such organization."), 404)
        else:
            try:
                response = view(request, org)
            except _BadRequest as error:
                response = _detail(str(error), 400)
        response["Access-Control-Allow-Origin"] = "*"
        return response

    return wrapper


def _int_param(request: HttpRequest, name: str, default: int | None = None) -> int:
    raw = request.GET.get(name, "")
    if raw == "" and default is not None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise _BadRequest(_("“%(name)s” must be a non-negative integer.") % {"name": name})
    return int(raw)


@public_file
def ledger_jsonl(request: HttpRequest, org: Organization) -> HttpResponse:
    """Every public entry, one per line (the exact leaf bytes), in seq order; streamed."""
    size = queries.log_size(org=org)

    def lines() -> Iterator[bytes]:
        for body in queries.iter_bodies(org=org, upto=size):
            yield body.encode("utf-8") + b"\n"

    response = StreamingHttpResponse(lines(), content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{org.slug}-ledger.jsonl"'
    response["X-Tree-Size"] = str(size)
    return response


@public_file
def checkpoint(request: HttpRequest, org: Organization) -> HttpResponse:
    found = queries.latest_checkpoint(org=org)
    if found is None:
        return _detail(_("No checkpoint has been signed yet."), 404)
    return JsonResponse(queries.checkpoint_json(found, org=org))


@public_file
def key(request: HttpRequest, org: Organization) -> HttpResponse:
    public = queries.public_key(org=org)
    if public is None:
        return _detail(_("No signing key yet: no checkpoint has been signed."), 404)
    return HttpResponse(base64.b64encode(public), content_type="text/plain")


@public_file
def proof(request: HttpRequest, org: Organization) -> HttpResponse:
    """`?seq=&tree_size=` (tree_size defaults to the latest checkpoint's size, or to the
    log's when the entry is newer than that checkpoint)."""
    seq = _int_param(request, "seq")
    tree_size = _int_param(
        request, "tree_size", default=queries.default_tree_size(org=org, seq=seq)
    )
    if not seq < tree_size <= queries.log_size(org=org):
        raise _BadRequest(_("Need seq < tree_size ≤ the number of entries in the ledger."))
    return JsonResponse(queries.proof_json(org=org, seq=seq, tree_size=tree_size))


@public_file
def consistency(request: HttpRequest, org: Organization) -> HttpResponse:
    """`?first=&second=`: the proof that the tree of `second` entries extends `first`."""
    first = _int_param(request, "first")
    second = _int_param(request, "second", default=queries.log_size(org=org))
    if not 1 <= first <= second <= queries.log_size(org=org):
        raise _BadRequest(_("Need 1 ≤ first ≤ second ≤ the number of entries in the ledger."))
    reader = queries.TreeReader(org=org, size=second)
    return JsonResponse(
        {
            "first": first,
            "second": second,
            "first_root": queries.root_at(org=org, tree_size=first).hex(),
            "second_root": reader.root().hex(),
            "proof": hex_list(queries.consistency_proof(org=org, first=first, second=second)),
        }
    )
