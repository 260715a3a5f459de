"""Staff pages of fundraising and the treasurer, under /app/<org_slug>/fundraising/."""

from django.urls import include, path

from solidaria.fundraising import views

app_name = "fundraising"

urlpatterns: list = [
    path("", views.overview, name="overview"),
    path("funds/", views.fund_list, name="fund_list"),
    path("funds/new", views.fund_create, name="fund_create"),
    path("funds/<slug:fund_slug>/edit", views.fund_edit, name="fund_edit"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new", views.campaign_create, name="campaign_create"),
    path("campaigns/<slug:campaign_slug>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<slug:campaign_slug>/edit", views.campaign_edit, name="campaign_edit"),
    path(
        "campaigns/<slug:campaign_slug>/pages/<slug:page_slug>/hide",
        views.peer_page_hide,
        name="peer_page_hide",
    ),
    path("gifts/", views.donation_list, name="donation_list"),
    path("gifts/new", views.donation_record, name="donation_record"),
    path("gifts/new/contacts", views.donation_contacts, name="donation_contacts"),
    path("gifts/<int:donation_id>/", views.donation_detail, name="donation_detail"),
    path("gifts/<int:donation_id>/receipt.pdf", views.donation_receipt, name="donation_receipt"),
    path("gifts/<int:donation_id>/refund", views.donation_refund, name="donation_refund"),
    path("recurring/", views.plan_list, name="plan_list"),
    path("recurring/<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("recurring/<int:plan_id>/update", views.plan_update, name="plan_update"),
    path("expenses/", views.expense_list, name="expense_list"),
    path("expenses/new", views.expense_create, name="expense_create"),
    path("expenses/<int:expense_id>/", views.expense_detail, name="expense_detail"),
    path("expenses/<int:expense_id>/evidence", views.expense_evidence, name="expense_evidence"),
    path("expenses/<int:expense_id>/reverse", views.expense_reverse, name="expense_reverse"),
    path("allocations/", views.allocations, name="allocations"),
    path("sepa/", views.sepa, name="sepa"),
    path("sepa/batches/<int:batch_id>.xml", views.sepa_batch, name="sepa_batch"),
    path("bank/", views.bank, name="bank"),
    path("bank/statements/<int:statement_id>/", views.statement_detail, name="statement_detail"),
    path("bank/unmatched/", views.unmatched_lines, name="unmatched_lines"),
    path("bank/lines/<int:line_id>/match", views.line_match, name="line_match"),
    path("bank/lines/<int:line_id>/ignore", views.line_ignore, name="line_ignore"),
    path("statements/", views.annual_statements, name="annual_statements"),
    path("providers/", views.providers, name="providers"),
    path("providers/<slug:kind>/", views.provider_edit, name="provider_edit"),
    path("settings/", views.fundraising_settings, name="settings"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/checkpoint", views.ledger_checkpoint, name="ledger_checkpoint"),
    path("ledger/verify", views.ledger_verify, name="ledger_verify"),
    path("reports/", include("solidaria.fundraising.report_urls")),
]
