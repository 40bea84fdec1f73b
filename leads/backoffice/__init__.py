"""Back office: the staff pages under /admin/ — inbox, lead page, follow-ups, bulk actions, trash, export, staff.

Views, forms, URLs, permissions, the dashboard chart, CSV export and template tags. May import:
accounts, domain, storage; never public or web.
"""
