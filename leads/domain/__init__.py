"""Domain: the rules, with no HTTP in them.

Services (every write: submit, update, delete, restore, staff changes, sign-in throttling), selectors
(every read: a GetItem, BatchGetItem or Query, never a Scan), the domain errors that views map to HTTP,
the sharded tallies, rate limits, signed cursors, new-lead notifications, retention (when a lead
expires), follow-ups (when a lead is due, the lists and the digest per owner) and a lead's timeline
(notes: timeline; emailed replies: replies). May import: storage.
"""
