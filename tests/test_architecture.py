"""The packages keep to docs/ARCHITECTURE.md: imports point down, and the rules have no HTTP in them."""
import ast
import configparser
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend("moto", reason="reads source files; no DynamoDB involved")

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent.name for p in (ROOT / "leads").glob("*/__init__.py"))
HTTP_MODULES = ("django.http", "django.shortcuts", "django.urls", "django.views", "django.template.response")


def layers() -> list[set[str]]:
    """The layers of the import-linter contract, top first, each a set of package names."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    lines = config["importlinter:contract:layers"]["layers"].split("\n")
    return [{name.strip().removeprefix("leads.") for name in line.split("|")} for line in lines if line.strip()]


def test_imports_point_down_as_the_contract_says():
    result = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_every_package_has_a_place_in_the_layers_and_a_docstring_saying_what_it_may_import():
    placed = set().union(*layers())
    assert placed == set(PACKAGES), f"packages outside the contract: {set(PACKAGES) - placed}"
    for package in PACKAGES:
        docstring = ast.get_docstring(ast.parse((ROOT / "leads" / package / "__init__.py").read_text()))
        assert docstring and "May import" in docstring, f"leads/{package}/__init__.py must say what it may import"


@pytest.mark.parametrize("package", ["domain", "storage"])
def test_the_rules_and_the_storage_have_no_http_in_them(package):
    found = []
    for path in sorted((ROOT / "leads" / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.startswith(HTTP_MODULES)]
    assert found == []
