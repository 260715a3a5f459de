from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "solidaria.ledger"
    label = "ledger"
    verbose_name = "Ledger"
