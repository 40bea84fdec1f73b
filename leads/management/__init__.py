"""Management: entry points outside a web request — manage.py commands (thin), offline maintenance
(audit, demo seeding) and the Lambda handler for the leads table's DynamoDB Stream.

May import: anything in leads.
"""
