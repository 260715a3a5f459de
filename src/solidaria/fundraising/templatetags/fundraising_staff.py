"""Template helpers of the staff fundraising pages: money in the reader's language."""

from django import template

from solidaria.fundraising.queries import mask_iban
from solidaria.fundraising.transparency import money as format_money

register = template.Library()


@register.simple_tag
def money(amount_minor: int | None, currency: str) -> str:
    """`{% money gift.amount_minor gift.currency %}` → `€25.00` in en, `25,00 €` in es."""
    if amount_minor is None or not currency:
        return "—"
    return format_money(int(amount_minor), currency)


@register.filter
def masked_iban(iban: str) -> str:
    return mask_iban(iban)
