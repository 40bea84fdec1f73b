"""Accounts: staff sign-in and the DynamoDB session engine.

Who is signed in (auth.py: authenticate with throttling, log in and out, the current staff member),
the code step of a two-factor sign-in (two_factor.py) and Django's session store backed by DynamoDB
(sessions.py). May import: domain, storage.
"""
