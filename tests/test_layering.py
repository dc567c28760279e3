"""The package's import structure: no cycles, every import points down the layers, few deferred imports.

The layers, bottom to top (a module imports only from its own package or from lower layers):

  errors, run          the run library: state, checkpoints, guards, metrics, parallelism, workdir, the loop
  data                 data sets and input pipelines
  models               flax modules
  viz                  figures from arrays
  html_report          a run's folder as one HTML page (reads files only; every layer above may write one)
  generators           the trained-generator interface and its adapters
  evaluation           scores and measurements
  training | explain   trainers; explanations (neither imports the other)
  config_checks        every config value checked where it enters
  kinds                the table of run kinds
  reproduce            results tables reproduced by one command
  generation, commands, cli    what the commands share
  serve                the latent explorer's server (loads runs and explanations)
"""
import ast
import os

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = "ganxai_jax"
LAYERS = (
    ("errors", "run"),
    ("data",),
    ("models",),
    ("viz",),
    ("html_report",),
    ("generators",),
    ("evaluation",),
    ("training", "explain"),
    ("config_checks",),
    ("kinds",),
    ("reproduce",),
    ("generation", "commands", "cli"),
    ("serve",),
)
MAX_DEFERRED_IMPORTS = 3


def _layer(module: str) -> tuple[int, str]:
  """(layer index, top-level part) of a module path like `ganxai_jax.run.loop`."""
  part = module.split(".")[1] if "." in module else ""
  for index, parts in enumerate(LAYERS):
    if part in parts:
      return index, part
  raise AssertionError(f"{module} is in no layer of tests/test_layering.py: place it there.")


def _modules() -> dict[str, str]:
  """Module name -> file path, for every module of the package."""
  found = {}
  for folder, _, files in os.walk(os.path.join(REPO_ROOT, PACKAGE)):
    for name in files:
      if name.endswith(".py"):
        path = os.path.join(folder, name)
        relative = os.path.relpath(path, REPO_ROOT)[:-3].replace(os.sep, ".")
        found[relative[:-len(".__init__")] if relative.endswith(".__init__") else relative] = path
  return found


def _imports(path: str, known: set[str]) -> list[tuple[str, int, bool]]:
  """(imported package module, line, inside a function) for every import of the package in `path`."""
  tree = ast.parse(open(path, encoding="utf-8").read(), path)
  result = []

  def visit(node: ast.AST, in_function: bool) -> None:
    for child in ast.iter_child_nodes(node):
      nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
      names = []
      if isinstance(child, ast.Import):
        names = [alias.name for alias in child.names]
      elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
        # `from a.b import c` imports module a.b.c when there is one, else a name of a.b.
        names = [f"{child.module}.{alias.name}" if f"{child.module}.{alias.name}" in known else child.module
                 for alias in child.names]
      for name in names:
        if name.split(".")[0] == PACKAGE:
          result.append((name, child.lineno, in_function))
      visit(child, nested)

  visit(tree, False)
  return result


@pytest.fixture(scope="module")
def graph():
  modules = _modules()
  return modules, {module: _imports(path, set(modules)) for module, path in modules.items()}


def test_no_import_cycles(graph):
  _, imports = graph
  edges = {module: {name for name, _, _ in found if name in imports and name != module}
           for module, found in imports.items()}
  visiting, done, cycles = set(), set(), []

  def walk(module, trail):
    visiting.add(module)
    for target in sorted(edges[module]):
      if target in visiting:
        cycles.append(trail[trail.index(target):] + [target] if target in trail else [module, target])
      elif target not in done:
        walk(target, trail + [target])
    visiting.discard(module)
    done.add(module)

  for module in sorted(edges):
    if module not in done:
      walk(module, [module])
  assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_every_import_points_down_the_layers(graph):
  _, imports = graph
  wrong = []
  for module, found in imports.items():
    if module == PACKAGE:
      continue
    layer, part = _layer(module)
    for name, line, _ in found:
      if name == PACKAGE:
        continue
      target_layer, target_part = _layer(name)
      if target_layer > layer or {part, target_part} == {"training", "explain"}:
        wrong.append(f"{module}:{line} imports {name}")
  assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_few_deferred_imports_each_with_its_reason(graph):
  modules, imports = graph
  deferred = [(module, name, line) for module, found in imports.items() for name, line, inside in found if inside]
  assert len(deferred) <= MAX_DEFERRED_IMPORTS, deferred
  for module, name, line in deferred:
    source = open(modules[module], encoding="utf-8").read().splitlines()
    assert "#" in source[line - 1] or source[line - 2].strip().startswith("#"), (
        f"{module}:{line} imports {name} inside a function without a comment saying why")


def test_the_layering_test_sees_a_wrong_way_import_and_a_cycle(tmp_path, monkeypatch):
  # The scanner itself: a module of `data` importing `training`, and two modules importing each other.
  package = tmp_path / PACKAGE
  (package / "data").mkdir(parents=True)
  (package / "training").mkdir()
  for folder in (package, package / "data", package / "training"):
    (folder / "__init__.py").write_text("")
  (package / "data" / "a.py").write_text("from ganxai_jax.training import b\n")
  (package / "training" / "b.py").write_text("def f():\n  from ganxai_jax.data import a\n")
  monkeypatch.setattr(f"{__name__}.REPO_ROOT", str(tmp_path))
  modules = _modules()
  imports = {module: _imports(path, set(modules)) for module, path in modules.items()}
  assert ("ganxai_jax.training.b", 1, False) in imports["ganxai_jax.data.a"]
  assert ("ganxai_jax.data.a", 2, True) in imports["ganxai_jax.training.b"]
  with pytest.raises(AssertionError, match="imports against the layering"):
    test_every_import_points_down_the_layers((modules, imports))
  with pytest.raises(AssertionError, match="import cycles"):
    test_no_import_cycles((modules, imports))
  with pytest.raises(AssertionError, match="without a comment"):
    test_few_deferred_imports_each_with_its_reason((modules, imports))
