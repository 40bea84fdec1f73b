"""Storage: where data lives and how it gets there.

The PynamoDB models and their key layout (models.py), the binding of models to settings and the one
shared botocore client (dynamodb.py), committing transactions and mapping DynamoDB's outcomes
(transactions.py) and the one error storage raises when DynamoDB cannot answer (errors.py), the only
code that touches PynamoDB's private API (internals.py), table creation,
the CloudFormation template and IAM policies generated from the models, the embedded DynamoDB of
`make run`, and the per-request call counter. May import: nothing of leads outside storage.
"""
