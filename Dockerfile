# Leads as a container: gunicorn serving leadsite.wsgi on $PORT (8000), static files by whitenoise.
# Configuration comes from the environment at run time (see README, Configuration); nothing secret is
# baked in. Behind a TLS-terminating proxy that sets X-Forwarded-Proto. Local try-out: docker-compose.yml.

# The translations compiled in a stage of their own: GNU gettext's msgfmt is needed to build, never to run.
FROM python:3.11-slim AS translations
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY locale /locale
RUN find /locale -name django.po -execdir msgfmt --check -o django.mo django.po \;

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /app

# The unprivileged user the server runs as (numeric, so Kubernetes' runAsNonRoot can verify it).
RUN groupadd --system --gid 10001 leads \
 && useradd --system --uid 10001 --gid leads --no-create-home --shell /usr/sbin/nologin leads

# Dependencies in their own layer: rebuilt only when requirements.txt changes, not on every code edit.
COPY requirements.txt .
RUN PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    pip install --no-cache-dir -r requirements.txt

# The code stays owned by root: the server can read it, never change it.
COPY . .
COPY --from=translations /locale /app/locale

# Hashed, pre-compressed static files into /app/staticfiles (whitenoise's manifest storage). Settings
# must import, so they get throw-away values for this command only; none of them is kept in the image.
RUN DEBUG=0 SECRET_KEY=build-only-dummy DYNAMODB_ENDPOINT=aws AWS_EC2_METADATA_DISABLED=true \
    python manage.py collectstatic --noinput

USER 10001:10001
EXPOSE 8000

# /healthz answers before host validation and the HTTPS redirect (HealthCheckMiddleware), so a plain
# request to 127.0.0.1 works whatever ALLOWED_HOSTS is. It is 503 while DynamoDB does not answer, which
# marks the container unhealthy: a new container would not help, so prefer an orchestrator that only
# takes an unhealthy container out of the load balancer, or give it generous retries.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4); sys.exit(r.status != 200)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "leadsite.wsgi"]
