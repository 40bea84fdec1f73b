"""Web: request plumbing around every page — middleware (health checks before host validation, no-store
for staff pages, the current staff member, 503 for storage outages) and the JSON request log.

May import: public, accounts, domain, storage; never backoffice.
"""
