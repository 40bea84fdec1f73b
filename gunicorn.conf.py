"""gunicorn settings for the container: `gunicorn -c gunicorn.conf.py leadsite.wsgi` (the image's CMD).

PORT and WEB_CONCURRENCY have their own variables; any other setting can be changed at run time
without a rebuild through GUNICORN_CMD_ARGS (e.g. GUNICORN_CMD_ARGS="--threads 8"), which gunicorn
applies on top of this file.
"""

import multiprocessing
import os

from leadsite.log_format import JSON_FORMATTER

# Every interface of the container; the platform maps the port. PORT is what Cloud Run, Heroku-style
# platforms and App Runner set.
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"


def _cpus() -> int:
    """CPUs this process may run on (honours `docker run --cpuset-cpus`, unlike cpu_count())."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return multiprocessing.cpu_count()


# gunicorn's rule of thumb. A CPU quota (`--cpus`, ECS task CPU, Kubernetes limits) is invisible
# here, so with a quota set WEB_CONCURRENCY to match it, or a small task starts far too many workers.
workers = int(os.environ.get("WEB_CONCURRENCY") or _cpus() * 2 + 1)

# Each request mostly waits on DynamoDB (and maybe SMTP): threads keep a worker busy meanwhile, and
# unlike the sync worker, gthread keeps connections to the load balancer alive (see keepalive).
# The app is already served threaded in development (runserver); botocore clients are thread-safe.
worker_class = "gthread"
threads = 4

# The heartbeat file is fchmod'ed constantly; on a disk-backed (overlay) filesystem that can block a
# worker long enough to be killed. /dev/shm is memory-backed in Docker and Kubernetes.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# A worker whose main loop says nothing for 30 s is stuck (with gthread this is not a per-request
# limit): kill and replace it. A request itself is bounded by botocore's timeouts and retries
# (DYNAMODB_CONNECT_TIMEOUT, DYNAMODB_READ_TIMEOUT, DYNAMODB_MAX_RETRIES) and EMAIL_TIMEOUT.
timeout = 30

# On SIGTERM (a deploy, a scale-in) workers get 25 s to finish the requests they have: less than the
# 30 s that ECS and Kubernetes wait before SIGKILL (docker's default is 10 s: `docker stop -t 30`,
# or stop_grace_period in compose), so gunicorn stops its workers itself and no visitor's post is cut.
graceful_timeout = 25

# Longer than the load balancer's idle timeout (ALB: 60 s), so the balancer, not gunicorn, closes
# idle connections; otherwise it can send a request on a connection gunicorn is closing: a 502.
# gthread parks idle connections in its poller, so they cost no thread.
keepalive = 75

# Which peers gunicorn believes about X-Forwarded-Proto & co. (for wsgi.url_scheme) and SCRIPT_NAME:
# loopback only, unless FORWARDED_ALLOW_IPS says otherwise (e.g. the proxy's subnet).
# Django decides "is this HTTPS?" from X-Forwarded-Proto itself (SECURE_PROXY_SSL_HEADER), so the
# container must be reachable only through the TLS-terminating proxy, and that proxy must set (not
# pass along) X-Forwarded-Proto. Note that REMOTE_ADDR stays the proxy's address either way.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Import Django, botocore, pynamodb and the app once, in the master, before forking: workers share
# those pages copy-on-write, start (and restart) fast, and a configuration error (no SECRET_KEY, a
# bad DYNAMODB_ENDPOINT) stops gunicorn at once with one clear message instead of a crash loop of
# workers. The cost, a full restart to load new code, is how containers are deployed anyway.
# The app's botocore client is made lazily on the first DynamoDB call (leads.storage.dynamodb), so it is
# always made in a worker: no two workers share a connection pool.
preload_app = True


# The control socket (gunicornc) is for resizing by hand; in a container the platform does that. Off,
# so nothing is written to $HOME and two gunicorns on one host never fight over one socket path.
control_socket_disable = True

# --- Logging: JSON lines on stderr, like the app's own (leadsite/settings.py LOGGING) -----------
# No access log: the app logs one JSON line per request itself (logger "leads.request": request id,
# status, duration, DynamoDB calls), which says more. With logconfig_dict set gunicorn would log
# access lines too, so "gunicorn.access" is silenced explicitly.
accesslog = None
errorlog = "-"
loglevel = "info"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": JSON_FORMATTER},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}
