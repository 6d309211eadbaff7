"""The import direction api → projections → ledger → signing, enforced in the suite."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["api", "projections", "ledger", "signing"]
#: Domain code must not reach for the web, the database driver or PDF libraries.
DOMAIN_MODULES = ["ledger/domain.py", "ledger/assessment.py", "ledger/errors.py"]
FORBIDDEN_IN_DOMAIN = {"fastapi", "psycopg", "pyhanko", "sqlite3"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_lower_layers(layer: str) -> None:
    allowed = set(LAYERS[LAYERS.index(layer) :])
    forbidden = set(LAYERS) - allowed
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & forbidden)
        for p in (ROOT / layer).rglob("*.py")
        if _imports(p) & forbidden
    }
    assert offenders == {}


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_domain_code_imports_no_infrastructure(module: str) -> None:
    assert _imports(ROOT / module) & FORBIDDEN_IN_DOMAIN == set()


def test_only_the_postgres_adapter_imports_psycopg() -> None:
    users = sorted(
        str(p.relative_to(ROOT))
        for layer in LAYERS
        for p in (ROOT / layer).rglob("*.py")
        if "psycopg" in _imports(p)
    )
    assert users == ["ledger/postgres.py"]


def test_import_linter_contracts_hold() -> None:
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0
