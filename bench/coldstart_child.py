"""One cold start, run as a script so nothing of bench is imported first: `python bench/coldstart_child.py VARIANT`."""
import io
import json
import os
import sys
import time

VARIANTS = {  # variant: (settings module, path); "django" serves the ceiling alone, without PynamoDB
    "python": (None, None), "django": ("bench.baseline.settings", "/ceiling/"),
    "floor": ("bench.baseline.settings", "/floor/healthz"), "floor_inbox": ("bench.baseline.settings", "/floor/leads/"),
    "app": ("leadsite.settings", "/healthz"), "app_inbox": ("leadsite.settings", "/admin/leads/"),
}
# Nothing of these may be imported by the app in production (the baseline lives in bench: it may import that).
FORBIDDEN = {"moto", "tests", "pytest", "flask", "werkzeug", "responses", "bench"}


def main(variant: str) -> dict:
    settings_module, path = VARIANTS[variant]
    if settings_module is None:
        return {"variant": variant, "t_imported": time.time(), "t_served": time.time(), "status": 0}
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    if variant == "django":
        os.environ["BENCH_CEILING_ONLY"] = "1"
    if variant.startswith("app"):
        from leadsite.wsgi import application
    else:  # the baseline project, as its gunicorn serves it
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()
    t_imported, status = time.time(), []
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1", "HTTP_X_FORWARDED_PROTO": "https",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_COOKIE": f"leads_session={os.environ.get('BENCH_SESSION', '')}",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    body = application(environ, lambda s, headers, exc_info=None: status.append(s))
    size = sum(len(chunk) for chunk in body)
    body.close()
    forbidden = FORBIDDEN if variant.startswith("app") else FORBIDDEN - {"bench"}
    return {"variant": variant, "t_imported": t_imported, "t_served": time.time(), "status": int(status[0].split()[0]),
            "bytes": size, "modules": len(sys.modules),
            "forbidden": sorted({name.partition(".")[0] for name in sys.modules} & forbidden)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
