"""Leads: a contact form and a sales inbox on DynamoDB, in packages by job (docs/ARCHITECTURE.md).

Imports only ever point down, and tests/test_architecture.py (import-linter) enforces it:

    management                      commands, the Lambda stream handler (may import anything)
    backoffice | web                staff pages | request plumbing
    public | accounts               the contact form | staff sign-in and sessions
    domain                          the rules: services (writes), selectors (reads), errors
    storage                         PynamoDB models, the DynamoDB binding, tables, the embedded store
"""
