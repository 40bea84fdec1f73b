"""Proposed app fixes, applied as monkeypatches so the bench can measure them before the app has them.

    python -m bench.run --app-patches NAME[,NAME]

serves a fourth gunicorn, "app + fixes" (bench/experiments_wsgi.py: the app with these patches), in
the same interleaved load rounds as the app, the floor and the ceiling. Nothing here is imported by the
app; each patch stands for a change proposed in bench/findings.md, to be made in the app itself.

The two measured so far are now in the app and their patches are gone: "rows" (the inbox rows built by
the `lead_rows` tag in leads/templatetags/leads_extras.py) and "iso" (IsoDateTimeAttribute.deserialize
with datetime.fromisoformat). Add the next candidate to PATCHES.
"""

PATCHES: dict = {}


def apply(names) -> list[str]:
    """Apply the named patches (after django.setup(), before the first request); return their names."""
    applied = []
    for name in filter(None, (n.strip() for n in names)):
        PATCHES[name]()
        applied.append(name)
    return applied
