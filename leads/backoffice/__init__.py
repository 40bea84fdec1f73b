"""backoffice"""
