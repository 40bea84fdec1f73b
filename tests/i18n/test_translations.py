"""The shipped translations are complete: every marked string is in each .po, and every msgid there is translated."""
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALES = sorted(path.parent.parent.name for path in (ROOT / "locale").glob("*/LC_MESSAGES/django.po"))
# What holds marked strings (the Makefile's `messages` target extracts from the same, ignoring the rest).
SOURCES = ("leads", "leadsite", "templates", "manage.py")

pytestmark = pytest.mark.backend("moto", reason="reads and extracts message catalogues; no DynamoDB involved")


def catalogue(path: Path) -> dict[tuple[str | None, str], dict]:
    """A .po file's entries by (msgctxt, msgid): {"plural": ..., "msgstr": [...], "flags": [...]}; header left out."""
    entries = {}
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        fields, flags, key = {}, [], None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif match := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line):
                key = match.group(1)
                fields[key] = ast.literal_eval(match.group(2))
            elif line.startswith('"'):
                fields[key] += ast.literal_eval(line)
        if fields.get("msgid"):
            translations = [value for name, value in sorted(fields.items()) if name.startswith("msgstr")]
            entries[(fields.get("msgctxt"), fields["msgid"])] = {
                "plural": fields.get("msgid_plural"), "msgstr": translations, "flags": flags}
    return entries


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict:
    """What `make messages` would extract today, into a copy of the project (the real locale/ untouched)."""
    if not shutil.which("xgettext"):
        pytest.fail("GNU gettext is missing (`make test` installs it through `make messages-compiled`)")
    project = tmp_path_factory.mktemp("messages")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, project / name)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--no-location", *(f"--locale={code}" for code in LOCALES)],
        cwd=project, env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "SECRET_KEY": "x" * 50, "DYNAMODB_ENDPOINT": "aws"},
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return {code: catalogue(project / "locale" / code / "LC_MESSAGES" / "django.po") for code in LOCALES}


def test_german_is_shipped():
    assert "de" in LOCALES


@pytest.mark.parametrize("code", LOCALES)
def test_every_marked_string_is_in_the_catalogue_and_nothing_stale(code, extracted):
    shipped = catalogue(ROOT / "locale" / code / "LC_MESSAGES" / "django.po")
    missing = sorted(set(extracted[code]) - set(shipped), key=str)
    stale = sorted(set(shipped) - set(extracted[code]), key=str)
    assert not missing, f"marked but not in locale/{code} (run `make messages`, then translate): {missing}"
    assert not stale, f"in locale/{code} but no longer marked (run `make messages`): {stale}"
    changed_plurals = [key for key, entry in shipped.items() if entry["plural"] != extracted[code][key]["plural"]]
    assert not changed_plurals, changed_plurals


@pytest.mark.parametrize("code", LOCALES)
def test_every_msgid_is_translated_and_none_is_fuzzy(code):
    shipped = catalogue(ROOT / "locale" / code / "LC_MESSAGES" / "django.po")
    assert shipped
    untranslated = [key for key, entry in shipped.items() if not entry["msgstr"] or not all(entry["msgstr"])]
    fuzzy = [key for key, entry in shipped.items() if "fuzzy" in entry["flags"]]
    assert not untranslated, f"untranslated in locale/{code}: {untranslated}"
    assert not fuzzy, f"fuzzy in locale/{code}: {fuzzy}"


@pytest.mark.parametrize("code", LOCALES)
def test_placeholders_survive_translation(code):
    # A translation that drops or renames %(n)d would raise at run time, or say the wrong thing.
    for (_context, msgid), entry in catalogue(ROOT / "locale" / code / "LC_MESSAGES" / "django.po").items():
        wanted = set(re.findall(r"%\(\w+\)\w|\{\w+\}", msgid))
        for translation in entry["msgstr"]:
            assert set(re.findall(r"%\(\w+\)\w|\{\w+\}", translation)) == wanted, (msgid, translation)


@pytest.mark.parametrize("code", LOCALES)
def test_the_catalogue_compiles(code, tmp_path):
    result = subprocess.run(["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "django.mo"),
                             str(ROOT / "locale" / code / "LC_MESSAGES" / "django.po")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "untranslated" not in result.stderr and "fuzzy" not in result.stderr, \
        result.stderr
