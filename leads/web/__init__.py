"""Web: request plumbing around every page — middleware (health checks before host validation, no-store
for staff pages, the current staff member, 503 for storage outages), the JSON request log and its
filters, and error reports with no personal data in them.

May import: public, accounts, domain, storage; never backoffice.
"""
