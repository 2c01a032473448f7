"""The layout rules of CONTRIBUTING.md, read from the code itself.

- kernels (dmmlib/*, not dmmlib/chapters/*) never import a chapter;
- a chapter imports kernels and its own package, never another chapter;
- nobody imports another module's private name (``from dmmlib.x import _y``);
- every chapter of the book has its package (profiles, claims) and its page, and the page's
  parameters cell lists exactly the knobs of its profiles.
"""
import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "dmmlib"
CHAPTER_DIR = LIB / "chapters"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) for every absolute dmmlib import in ``path``, anywhere in it."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("dmmlib")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("dmmlib"):
            out.append((node.module, [a.name for a in node.names]))
    return out


def _chapter_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["dmmlib", "chapters"] else None


def _targets(module: str, names: list[str]) -> list[str]:
    """The modules an import reaches: ``from dmmlib.chapters import x`` reaches dmmlib.chapters.x."""
    return [module] + [f"{module}.{n}" for n in names if (ROOT / Path(*module.split("."), n)).exists()
                       or (ROOT / Path(*module.split("."), f"{n}.py")).exists()]


SOURCES = sorted(LIB.rglob("*.py"))


@pytest.mark.parametrize("path", [p for p in SOURCES if CHAPTER_DIR not in p.parents], ids=lambda p: str(p.relative_to(ROOT)))
def test_kernels_never_import_a_chapter(path):
    bad = [t for m, names in _imports(path) for t in _targets(m, names) if _chapter_of(t)]
    assert not bad, f"{path.relative_to(ROOT)} imports chapter code {bad}"


@pytest.mark.parametrize("path", [p for p in SOURCES if CHAPTER_DIR in p.parents], ids=lambda p: str(p.relative_to(ROOT)))
def test_chapters_never_import_another_chapter(path):
    own = _chapter_of(_module_name(path))
    bad = [t for m, names in _imports(path) for t in _targets(m, names) if _chapter_of(t) not in (None, own)]
    assert not bad, f"{path.relative_to(ROOT)} (chapter {own}) imports {bad}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_cross_modules(path):
    bad = [f"{m}.{n}" for m, names in _imports(path) for n in names if n.startswith("_") and m != _module_name(path)]
    assert not bad, f"{path.relative_to(ROOT)} imports private names {bad}"


def _toc_chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f.removeprefix("chapters/") for f in files if f.startswith("chapters/")]


def test_the_rules_catch_a_violation(tmp_path):
    # the checks above are not vacuous: a fake kernel importing a chapter is caught
    fake = tmp_path / "k.py"
    fake.write_text("from dmmlib.chapters.clinging_dimpling import experiment\nfrom dmmlib.data.paths import _x\n")
    found = _imports(fake)
    assert any(_chapter_of(t) == "clinging_dimpling" for m, n in found for t in _targets(m, n))
    assert any(n.startswith("_") for m, names in found for n in names)


@pytest.mark.parametrize("name", _toc_chapters())
def test_every_chapter_has_package_page_and_matching_parameters_cell(name):
    package = CHAPTER_DIR / name
    for part in ("__init__.py", "profiles.py", "claims.py"):
        assert (package / part).exists(), f"chapter {name} lacks dmmlib/chapters/{name}/{part}"
    assert "def claims(" in (package / "claims.py").read_text()
    page = (ROOT / "book" / "chapters" / f"{name}.md").read_text()
    cell = re.search(r"```\{code-cell\}[^\n]*\n:tags: \[parameters\]\n(.*?)```", page, re.S)
    assert cell, f"{name}.md has no cell tagged parameters"
    names = {n.id for node in ast.walk(ast.parse(cell.group(1))) if isinstance(node, ast.Assign)
             for n in node.targets if isinstance(n, ast.Name)}
    from dmmlib import params

    assert names == {"profile", *params.knobs(name)}, (
        f"{name}.md parameters cell differs from its profiles: missing {sorted({*params.knobs(name)} - names)}, "
        f"extra {sorted(names - {'profile', *params.knobs(name)})}")
    assert sorted(re.findall(r"^(\w+) = None", cell.group(1), re.M)) == sorted(params.knobs(name)), (
        f"{name}.md: every knob of the parameters cell is None (the profile's value)")
    assert re.search(r'^profile = "quick"', cell.group(1), re.M), f'{name}.md: the parameters cell sets profile = "quick"'

