"""A minimal Django project: the ceiling (no data access) and the data floor (bare PynamoDB) of each page."""
