from django.apps import AppConfig


class FundraisingConfig(AppConfig):
    name = "solidaria.fundraising"
    label = "fundraising"
    verbose_name = "Fundraising"

    def ready(self) -> None:
        from solidaria.fundraising import privacy, queries
        from solidaria.ledger.registry import register_books_check
        from solidaria.people import registry

        registry.register(privacy.OWNER)
        # `solidaria ledger verify` fails when the books and the public log disagree.
        register_books_check(queries.check_books)

        # --- staff pages (fundraising/views.py): the gifts panel of the contact page.
        from solidaria.fundraising.views import gifts_panel

        registry.register_panel(
            registry.ContactPanel(
                name="gifts",
                template="fundraising/staff/_contact_gifts.html",
                context=gifts_panel,
                order=20,
            )
        )
