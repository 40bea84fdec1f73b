"""Domain: the rules, with no HTTP in them.

Services (every write: submit, update, delete, restore, staff changes, sign-in throttling), selectors
(every read: a GetItem, BatchGetItem or Query, never a Scan), the domain errors that views map to HTTP,
the sharded tallies, rate limits, signed cursors, new-lead notifications and retention (when a lead
expires), a lead's timeline (notes: timeline; emailed replies: replies). May import: storage.
"""
