"""pyproject.toml says what ships and what dnactx needs: every package listed, every import declared, no stale
package-data patterns."""

import ast
import re
import sys
from importlib.metadata import packages_distributions

import pytest
from conftest import REPO

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
# Import names whose distribution is named otherwise and may not be installed here to be looked up.
ALIASES = {"sklearn": "scikit-learn", "markdown_it": "markdown-it-py", "yaml": "pyyaml"}


def _folder(package: str):
    for prefix, folder in SETUPTOOLS["package-dir"].items():
        if package == prefix or package.startswith(prefix + "."):
            return REPO / folder / package[len(prefix):].lstrip(".").replace(".", "/")
    return REPO / package.replace(".", "/")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_on_disk_is_listed_and_every_listed_one_exists():
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "dnactx").rglob("__init__.py")}
    listed = set(SETUPTOOLS["packages"])
    assert on_disk <= listed, f"add {sorted(on_disk - listed)} to [tool.setuptools] packages in pyproject.toml"
    assert all((_folder(p) / "__init__.py").is_file() for p in listed)


def test_package_data_patterns_each_match_a_file():
    for package, patterns in SETUPTOOLS["package-data"].items():
        for pattern in patterns:
            assert list(_folder(package).glob(pattern)), f"{package}: {pattern!r} matches nothing"


def test_every_package_dnactx_imports_is_declared():
    declared = {_normalise(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]) for d in PYPROJECT["project"]["dependencies"]}
    dists = packages_distributions()
    missing = {}
    for path in (REPO / "dnactx").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "dnactx":
                    continue
                candidates = dists.get(top) or [ALIASES.get(top, top)]
                if not any(_normalise(d) in declared for d in candidates):
                    missing.setdefault(top, path.relative_to(REPO).as_posix())
    assert missing == {}, f"declare these in pyproject.toml [project] dependencies: {missing}"
