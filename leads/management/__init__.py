"""Management: entry points outside a web request — manage.py commands (thin), offline maintenance
(audit, demo seeding), the Lambda handler for the leads table's DynamoDB Stream, the daily follow-up digest
(digests.py: send_digests, and the handler of its Zappa schedule), and the deployment
to Lambda (deploy.py; lambda_package.py prunes Zappa's zip; zappa_cli.py leaves stream triggers to deploy).

May import: anything in leads.
"""
