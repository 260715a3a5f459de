"""Report pages, included by `fundraising/urls.py` under `reports/` (namespace `fundraising`)."""

from django.urls import path

from solidaria.fundraising import report_views as views

urlpatterns = [
    path("", views.report_index, name="report_index"),
    path("income/months/", views.report_month, name="report_month"),
    path("income/campaigns/", views.report_campaign, name="report_campaign"),
    path("income/funds/", views.report_fund, name="report_fund"),
    path("income/methods/", views.report_method, name="report_method"),
    path("retention/", views.report_retention, name="report_retention"),
    path("lybunt/", views.report_lybunt, name="report_lybunt"),
    path("sybunt/", views.report_sybunt, name="report_sybunt"),
    path("recurring/", views.report_recurring, name="report_recurring"),
    path("rfm/", views.report_rfm, name="report_rfm"),
    path("rfm/<slug:segment>/", views.report_rfm_segment, name="report_rfm_segment"),
]
