"""The Lambda package: Zappa's "zip" callback prunes the zip Zappa built down to what the function runs.

Zappa zips the project and the whole virtualenv it deploys from (requirements-deploy.txt: the runtime,
Zappa, and Zappa's command-line tools). On Lambda the function needs only:

- the distributions of requirements.txt, and those Zappa's handler imports (zappa itself, werkzeug,
  boto3 for `remote_env`, durationpy), each with what it requires; not gunicorn (the container's
  server). Every file of every other distribution goes: Zappa's deploy tools (troposphere, PyYAML,
  click, requests…), pip, setuptools and wheel;
- botocore's and boto3's data for the services it calls (AWS_SERVICES), not the other 400;
- Django without the contrib apps and database backends the project never loads, and with its
  translations only for English (the default language must have one) and the languages the project
  ships in locale/ (their compiled .mo in the zip): Django's own form messages in the visitor's language;
- of each kept distribution's .dist-info, what importlib.metadata reads (METADATA, entry points) and
  the licences, not pip's records of the install;
- no tests, and none of the virtualenv's bytecode: Zappa dates every file in the zip 1980-01-01, so a
  .pyc validated by its source's timestamp never matches and would be ignored.

Instead, when this Python is the stage's runtime (python3.11), every module is compiled into
unchecked-hash bytecode (PEP 552: valid whatever the files' dates, never checked against the source),
so a cold start loads bytecode instead of compiling ~900 modules from source: about 3.5× faster to the
first response (bench/package.py measures it). The package is rebuilt at every deploy, so its bytecode
cannot go stale.

zappa_settings.json names it (`"callbacks": {"zip": "leads.management.lambda_package.prune"}`), so
`zappa package`, `zappa deploy` and `zappa update` all ship the pruned zip. Zappa loads this file by
path, as a top-level module: it uses the standard library only.
"""
import importlib.metadata
import importlib.util
import marshal
import os
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

# What zappa.handler imports on Lambda besides zappa itself (with their own requirements).
HANDLER_DISTRIBUTIONS = ("werkzeug", "boto3", "durationpy")
# Zappa's own files, but none of its requirements: those are its command-line tools.
WITHOUT_REQUIREMENTS = ("zappa",)
# In requirements.txt for the container, never imported on Lambda.
NOT_ON_LAMBDA = ("gunicorn",)
# botocore/boto3 service data kept: DynamoDB and its streams (the app, the stream trigger), S3 (Zappa's
# handler reads remote_env), SES and STS (mail and credentials, should a deployment use them), Lambda.
AWS_SERVICES = ("dynamodb", "dynamodbstreams", "s3", "ses", "sts", "lambda")
UNUSED_DJANGO_APPS = ("admin", "admindocs", "flatpages", "gis", "humanize", "postgres", "redirects", "sitemaps",
                      "sites", "syndication")
UNUSED_DJANGO_BACKENDS = ("mysql", "oracle", "postgresql", "sqlite3")  # DATABASES = {}: no database at all
# What pip writes into a distribution's .dist-info about the install; importlib.metadata reads METADATA
# (versions) and entry_points.txt, and the licences stay with the code they cover.
INSTALLER_RECORDS = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "WHEEL")
TASK_ROOT = "/var/task/"  # where Lambda unzips the package: the files tracebacks name
UNCHECKED_HASH = (1).to_bytes(4, "little")  # PEP 552 flags: hash-based, source never checked
# Zappa's generated settings: tools may write it again inside an unzipped package (the tests do), and
# unchecked bytecode would then shadow the new source.
NOT_COMPILED = ("zappa_settings.py",)
# Django's translations are kept for these and for each language of the project's locale/ (shipped_languages).
ALWAYS_LANGUAGES = frozenset({"en"})


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The distribution a requirement line names; None for comments, options, and extras' requirements."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    requirement, _, marker = line.partition(";")
    if "extra" in marker:
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    return normalise(match.group(0)) if match else None


def runtime_roots(requirements: Path) -> set[str]:
    """requirements.txt's distributions (less NOT_ON_LAMBDA) and those Zappa's handler needs."""
    names = {requirement_name(line) for line in requirements.read_text().splitlines()}
    names.discard(None)
    return (names - set(NOT_ON_LAMBDA)) | set(HANDLER_DISTRIBUTIONS) | set(WITHOUT_REQUIREMENTS)


def kept_distributions(distributions: dict, roots: set[str]) -> set[str]:
    """The roots and everything they require, as far as it is installed."""
    kept, todo = set(), [name for name in roots if name in distributions]
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept.add(name)
        if name in WITHOUT_REQUIREMENTS:
            continue
        for line in distributions[name].requires or ():
            required = requirement_name(line)
            if required in distributions and required not in kept:
                todo.append(required)
    return kept


def shipped_languages(names) -> frozenset[str]:
    """English and every language whose compiled catalogue the project's locale/ has in the zip."""
    found = {parts[1] for parts in (name.split("/") for name in names)
             if len(parts) == 4 and parts[0] == "locale" and parts[2] == "LC_MESSAGES" and parts[3].endswith(".mo")}
    return ALWAYS_LANGUAGES | found


def unneeded_file(name: str, languages: frozenset[str] = ALWAYS_LANGUAGES) -> bool:
    """True for a file of a kept distribution that the function never reads (see the module's docstring)."""
    parts = name.split("/")
    if "__pycache__" in parts or name.endswith(".pyc") or "tests" in parts[:-1]:
        return True
    if len(parts) == 2 and parts[0].endswith(".dist-info"):
        return parts[1] in INSTALLER_RECORDS
    if parts[0] in ("botocore", "boto3") and len(parts) > 3 and parts[1] == "data":
        return parts[2] not in AWS_SERVICES
    if parts[0] == "django":
        if "locale" in parts and "LC_MESSAGES" in parts:
            return parts[parts.index("locale") + 1] not in languages
        if parts[1:2] == ["contrib"] and len(parts) > 3 and parts[2] in UNUSED_DJANGO_APPS:
            return True
        if parts[1:3] == ["db", "backends"] and len(parts) > 4 and parts[3] in UNUSED_DJANGO_BACKENDS:
            return True
    return False


def unneeded_files(zip_path: Path, requirements: Path) -> set[str]:
    """Every file in the zip that belongs only to distributions the function does not need."""
    distributions = {normalise(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=[str(zip_path)])}
    kept = kept_distributions(distributions, runtime_roots(requirements))
    owned_by_kept = {str(path) for name in kept for path in distributions[name].files or ()}
    return {str(path) for name, distribution in distributions.items() if name not in kept
            for path in distribution.files or ()} - owned_by_kept


@dataclass(frozen=True)
class Size:
    """A zip's size: on disk, unzipped, and in files."""

    zipped: int
    unzipped: int
    files: int

    @classmethod
    def of(cls, zip_path: Path) -> "Size":
        with zipfile.ZipFile(zip_path) as archive:
            infos = archive.infolist()
        return cls(zipped=zip_path.stat().st_size, unzipped=sum(i.file_size for i in infos), files=len(infos))

    def __str__(self) -> str:
        return f"{self.zipped / 2**20:.1f} MiB zipped, {self.unzipped / 1e6:.1f} MB unzipped in {self.files:,} files"


def bytecode(name: str, source: bytes) -> bytes | None:
    """The unchecked-hash .pyc of a module in the package for this Python; None if it does not compile."""
    try:
        code = compile(source, TASK_ROOT + name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    return importlib.util.MAGIC_NUMBER + UNCHECKED_HASH + importlib.util.source_hash(source) + marshal.dumps(code)


def cached_name(name: str) -> str:
    """Where this Python looks for a module's bytecode (`pkg/__pycache__/mod.cpython-311.pyc`)."""
    directory, _, file = name.rpartition("/")
    return f"{directory}/__pycache__/{file[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/")


def prune_zip(zip_path: Path, requirements: Path, *, compile_bytecode: bool = False) -> tuple[Size, Size]:
    """Rewrite the zip without the files the function never needs (and with bytecode, if asked); sizes before, after."""
    before = Size.of(zip_path)
    dropped = unneeded_files(zip_path, requirements)
    with zipfile.ZipFile(zip_path) as source, tempfile.NamedTemporaryFile(
        dir=zip_path.parent, prefix=zip_path.name, delete=False
    ) as file:
        languages = shipped_languages(source.namelist())
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename in dropped or unneeded_file(info.filename, languages):
                    continue
                data = source.read(info)
                target.writestr(info, data)  # Zappa's entry as it was (permissions, date)
                compile_it = compile_bytecode and info.filename.endswith(".py") and info.filename not in NOT_COMPILED
                compiled = bytecode(info.filename, data) if compile_it else None
                if compiled is not None:
                    entry = zipfile.ZipInfo(cached_name(info.filename), date_time=info.date_time)
                    entry.create_system, entry.external_attr = info.create_system, info.external_attr
                    target.writestr(entry, compiled, zipfile.ZIP_DEFLATED)
    os.replace(file.name, zip_path)
    return before, Size.of(zip_path)


def largest(zip_path: Path, depth: int = 1, count: int = 15) -> list[tuple[str, int, int]]:
    """The biggest directories at `depth`: (path, zipped bytes, unzipped bytes), biggest first."""
    totals: dict[str, list[int]] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            key = "/".join(info.filename.split("/")[:depth])
            entry = totals.setdefault(key, [0, 0])
            entry[0] += info.compress_size
            entry[1] += info.file_size
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])[:count]
    return [(path, zipped, unzipped) for path, (zipped, unzipped) in ranked]


def prune(cli) -> None:
    """Zappa's "zip" callback: prune the package Zappa just built, in place, and compile it for the runtime."""
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    matches = cli.runtime == python
    before, after = prune_zip(Path(cli.zip_path), Path.cwd() / "requirements.txt", compile_bytecode=matches)
    print(f"Pruned the package: {before} -> {after}")
    if not matches:
        print(f"No bytecode in the package: built with {python} for the {cli.runtime} runtime, which would ignore "
              f"it (cold starts compile every module). Build with {cli.runtime} (make deploy does, where it exists).")
