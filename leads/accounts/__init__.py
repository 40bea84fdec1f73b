"""Accounts: staff sign-in and the DynamoDB session engine.

Who is signed in (auth.py: authenticate with throttling, log in and out, the current staff member) and
Django's session store backed by DynamoDB (sessions.py). May import: domain, storage.
"""
