"""Public: what visitors see — the contact form, its one-time tokens, the thank-you page and /healthz.

May import: domain, storage; never accounts, backoffice or web.
"""
