"""Web: request plumbing around every page — middleware (health checks before host validation, no-store
for staff pages, the current staff member, 503 for storage outages), the JSON request log and its
filters, error reports with no personal data in them, and static file URLs under the request's script
prefix (staticfiles.py).

May import: public, accounts, domain, storage; never backoffice.
"""
