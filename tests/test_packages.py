"""The lazy package namespaces: each public name is its defining module's object."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest

PACKAGES = ["attribution", "uplift"]


def _type_checking_imports(package: ModuleType) -> dict[str, str]:
    """Name -> module of the imports under ``if TYPE_CHECKING:`` in the package's ``__init__``."""
    assert package.__file__ is not None
    tree = ast.parse(Path(package.__file__).read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module is not None
                found.update({alias.name: stmt.module for alias in stmt.names})
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_all_sources_and_type_checking_imports_agree(name: str) -> None:
    package = importlib.import_module(name)
    assert sorted(package.__all__) == sorted(package._SOURCES)
    # type checkers see the same name -> module map as the run-time resolution
    assert _type_checking_imports(package) == package._SOURCES


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_the_defining_modules_object(name: str) -> None:
    package = importlib.import_module(name)
    for public in package.__all__:
        defining = importlib.import_module(package._SOURCES[public])
        assert getattr(package, public) is getattr(defining, public), public
    assert set(package.__all__) <= set(dir(package))
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    assert set(package.__all__) <= set(namespace)


@pytest.mark.parametrize("name", PACKAGES)
def test_unknown_name_is_an_attribute_error(name: str) -> None:
    package = importlib.import_module(name)
    with pytest.raises(AttributeError, match=f"module '{name}' has no attribute 'no_such_name'"):
        package.no_such_name  # noqa: B018
    assert not hasattr(package, "Journey")
