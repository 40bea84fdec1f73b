"""WSGI entry point for gunicorn and Zappa."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings")

application = get_wsgi_application()
