"""The layout tells the story of the pipeline: imports go one way, and every U4SSC rule is defined in kpis.rules only.

These tests read the package's source with `ast`; they fail when a module imports a later stage, when two modules
import each other, or when a rule (band edges, achievement, number parsing, aggregation) is written a second time.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import kpis
from kpis import rules

PACKAGE = Path(kpis.__file__).resolve().parent

# Stages, lowest first. A module may import modules of its own stage's predecessors; inside a stage, the order of
# the list is the order of import (an earlier module never imports a later one). Sub-packages count as one stage
# whose sub-modules follow the same rule among themselves.
STAGES: list[list[str]] = [
    ["errors", "rules", "export", "paths", "terminal", "outdir", "i18n", "categories"],  # no project imports but errors (and paths); i18n: the six languages
    ["models"],  # the schema of the library
    ["library"],  # catalogue and target sets as plain data
    ["formulas", "grouping", "display", "templating"],  # formulas applied; group membership; presentation
    ["template_text", "template", "limits", "problems"],  # the workbook the cities fill in; caps; problem records
    ["intake"],  # reading files
    ["validation", "validation_report"],  # checking them; what `ssc validate` shows
    ["results", "grid", "scoring"],  # the Results object and its formats; the scoring engine
    ["synthetic", "knowledge", "knowledge_text", "recommendation_model", "recommendation", "statuses", "narrative"],  # invented cities; the knowledge base; recommendations
    ["charts", "report", "audit"],  # the city report's sections
    ["watchdog", "engine", "inprocess", "render", "parameters", "worker", "batch", "cluster", "run", "assess_cli"],  # notebooks, HTML/PDF, the batch
    ["comparison"],  # many cities and years
    ["cli", "__init__"],  # the command line and the public names
]
ORDER = {name: (stage, pos) for stage, names in enumerate(STAGES) for pos, name in enumerate(names)}


def _modules() -> dict[str, Path]:
    """Dotted name under kpis (e.g. 'intake.rows', 'comparison') → file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module under kpis, line, inside a function) for every project import of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    inner = {id(n) for f in funcs for n in ast.walk(f) if n is not f}
    out = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                base = [b for b in base if b != "__init__"]
                mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
                targets = [mod] if node.module else [".".join([*base, a.name]) for a in node.names]
            elif node.module and (node.module == "kpis" or node.module.startswith("kpis.")):
                mod = node.module.removeprefix("kpis").lstrip(".")
                targets = [mod] if mod else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name.removeprefix("kpis.") for a in node.names if a.name.startswith("kpis.")]
        for t in targets:
            if t and not t.startswith("catalogue"):
                out.append((t, node.lineno, id(node) in inner))
    return out


def _stage_key(module: str) -> tuple[int, int, tuple[int, ...]]:
    top = module.split(".")[0]
    if top not in ORDER:
        raise AssertionError(f"kpis/{module.replace('.', '/')}: not placed in STAGES; add it where it belongs")
    return (*ORDER[top], ())


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The module a dotted import names (an imported name inside a module resolves to the module)."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target, _, _ in _imports(name, path):
            resolved = _resolve(target, modules)
            if resolved and resolved != name:
                graph[name].add(resolved)
    return graph


def test_every_module_is_placed_in_a_stage():
    for name in _modules():
        _stage_key(name)


def test_imports_go_one_way():
    """No module imports a later stage (or a later module of its own stage)."""
    wrong = []
    for name, deps in _graph().items():
        for dep in deps:
            if dep.startswith(name + "."):
                continue  # a package's __init__ re-exports its own sub-modules
            same_package = name.split(".")[0] == dep.split(".")[0] and "." in name + dep
            if same_package:
                continue  # order inside a sub-package is checked by the cycle test
            if _stage_key(dep) > _stage_key(name):
                wrong.append(f"{name} imports {dep}")
    assert not wrong, "imports against the pipeline order:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    # a package's __init__ importing its sub-modules is the package itself, not a cycle
    for name in graph:
        graph[name] = {d for d in graph[name] if not d.startswith(name + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle: " + " → ".join(cycle))


def test_function_level_imports_of_the_package_say_why():
    """A project import inside a function is allowed only where it saves start-up time, and says so."""
    unexplained = []
    for name, path in _modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for target, line, inside in _imports(name, path):
            if not inside:
                continue
            context = " ".join(lines[max(0, line - 4): line]).lower()
            if "start-up" not in context and "startup" not in context:
                unexplained.append(f"kpis/{path.relative_to(PACKAGE)}:{line} imports {target}")
    assert not unexplained, "function-level imports without a start-up reason:\n" + "\n".join(unexplained)


# ---------------------------------------------------------------- every rule in one place

RULE_FUNCTIONS = {"achievement", "band_index", "band_of", "points_of", "parse_number", "parse_numbers",
                  "parse_yes_no", "aggregate", "contribution", "evaluate_one", "_number", "_numbers", "_text_number"}
RULE_CONSTANTS = {"BAND_EDGES", "EDGES", "EPSILON", "EDGE_TOLERANCE", "NOT_REPORTED", "NOT_REPORTED_TOKENS",
                  "NOT_REPORTED_WORDS", "GEOMETRIC_FLOOR", "BANDS", "BAND_ORDER", "PARTS_SUM_TOLERANCE"}
EDGE_LITERALS = re.compile(r"(?<![\w.])(0?\.33|0?\.66|0?\.95|33\.0|66\.0|95\.0)\b.*(0?\.66|66\.0|66)\b")


def _definitions(path: Path) -> tuple[set[str], set[str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    constants = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            constants |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            constants.add(node.target.id)
    return functions, constants


def test_the_rules_module_defines_the_rules():
    functions, constants = _definitions(Path(rules.__file__))
    assert {"achievement", "band_index", "band_of", "points_of", "parse_number", "parse_numbers", "aggregate",
            "contribution", "evaluate"} <= functions
    assert {"BAND_EDGES", "EDGE_TOLERANCE", "NOT_REPORTED_WORDS", "BANDS", "GEOMETRIC_FLOOR"} <= constants


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.rglob("*.py") if p.name != "rules.py"),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_other_module_redefines_a_rule(path):
    functions, constants = _definitions(path)
    assert not functions & RULE_FUNCTIONS, f"{path.name} defines {sorted(functions & RULE_FUNCTIONS)}; use kpis.rules"
    assert not constants & RULE_CONSTANTS, f"{path.name} defines {sorted(constants & RULE_CONSTANTS)}; use kpis.rules"
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("#", 1)[0]
        assert not EDGE_LITERALS.search(code), f"{path.name}:{no} writes band edges by hand: {line.strip()}"


def test_public_names_stay_what_they_are_after_every_module_is_imported():
    """`kpis.compute`, `kpis.catalogue`, `kpis.compare`… are functions even once every sub-module is loaded (a
    sub-module of the same name would replace them)."""
    import importlib

    for name in _modules():
        if name not in ("__init__", "cli"):
            importlib.import_module(f"kpis.{name}")
    for name in kpis.__all__:
        if name == "__version__":
            continue
        value = getattr(kpis, name)
        assert not isinstance(value, type(kpis)), f"kpis.{name} is a module, not the public {name}"


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_short(path):
    """No module over ~500 lines and no function over ~60 without a reason at its top ("Long because ...")."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    assert len(lines) <= MAX_MODULE_LINES or "Long because" in "\n".join(lines[:15]), \
        f"{path.name} has {len(lines)} lines; split it into modules with one job each"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            doc = ast.get_docstring(node) or ""
            assert length <= MAX_FUNCTION_LINES or "Long because" in doc, \
                f"{path.name}:{node.lineno} {node.name} has {length} lines; make it named steps"


def test_every_sub_package_is_installed():
    """pyproject lists the packages by hand (notebooks, templates and data are mapped in): a new sub-package must be
    listed too, or an installed copy cannot import it."""
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
                 ["packages"])
    found = {"kpis." + ".".join(p.parent.relative_to(PACKAGE).parts) for p in PACKAGE.rglob("__init__.py")
             if p.parent != PACKAGE and "catalogue" not in p.parts}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
