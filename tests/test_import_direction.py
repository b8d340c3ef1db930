"""mmssd's imports run one way (entry points on top, the registry at the bottom), with no
import cycles: read from the source with ``ast``, nothing imported."""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: mmssd's sub-packages from the bottom up; a package may import its own layer and those
#: below it (``docs/architecture.md``, "Import direction"). tools/ and benchmarks/ sit on
#: top and are never imported by mmssd.
LAYERS = (
    ('version', 'registry'),
    ('utils', 'structures'),
    ('datasets',),
    ('visualization',),
    ('models',),
    ('evaluation', 'deployment'),
    ('engine',),
    ('apis',),
)
LEVEL = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}

#: Imports inside functions that point up, each with its reason. Keep it empty; an entry
#: is a debt, not a rule.
KNOWN_LAZY_UPWARD: set[tuple[str, str]] = set()


def module_name(path: Path) -> tuple[str, bool]:
    """(dotted module name, whether it is a package ``__init__``)."""
    parts = path.relative_to(REPO).with_suffix('').parts
    if parts[-1] == '__init__':
        return '.'.join(parts[:-1]), True
    return '.'.join(parts), False


MODULES = {module_name(p)[0]: p for p in (REPO / 'mmssd').rglob('*.py')}


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding='utf-8'))


@cache
def imported_modules(path: Path, top_level_only: bool, only_mmssd: bool = True) -> list[str]:
    """The (mmssd) modules ``path`` imports (``from pkg import submodule`` names the
    submodule); only the module-level statements with ``top_level_only``."""
    name, is_package = module_name(path)
    tree = parsed(path)
    out = []
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = node.module or ''
            if node.level:
                base = name.split('.') if is_package else name.split('.')[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = '.'.join(base + ([node.module] if node.module else []))
            for alias in node.names:
                full = f'{target}.{alias.name}'
                out.append(full if full in MODULES else target)
        elif isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
    return [m for m in out if m.split('.')[0] == 'mmssd' or not only_mmssd]


def subpackage(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def test_every_subpackage_has_a_layer():
    missing = {subpackage(m) for m in MODULES} - set(LEVEL) - {''}
    assert not missing, f'add {sorted(missing)} to LAYERS (and to docs/architecture.md)'


def test_imports_point_down_the_layers():
    upward = []
    for name, path in MODULES.items():
        source = subpackage(name)
        if not source:
            continue
        for target in imported_modules(path, top_level_only=False):
            dest = subpackage(target)
            if dest and LEVEL[dest] > LEVEL[source]:
                key = (path.relative_to(REPO).as_posix(), dest)
                if key not in KNOWN_LAZY_UPWARD:
                    upward.append(f'{key[0]} imports {target}')
                elif target in imported_modules(path, top_level_only=True):
                    upward.append(f'{key[0]} imports {target} at module level')
    assert not upward, 'imports against the layers:\n' + '\n'.join(sorted(upward))


def test_mmssd_never_imports_tools_or_benchmarks():
    bad = [f'{name} imports {target}' for name, path in MODULES.items()
           for target in imported_modules(path, top_level_only=False, only_mmssd=False)
           if target.split('.')[0] in ('tools', 'benchmarks', 'tests')]
    assert not bad, bad


def import_graph() -> dict[str, set[str]]:
    """Module-level imports between mmssd modules, with the packages an import runs."""
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for target in imported_modules(path, top_level_only=True):
            parts = target.split('.')
            for i in range(2, len(parts) + 1):  # importing a.b.c runs a.b first
                parent = '.'.join(parts[:i])
                if parent in MODULES and parent != name and not name.startswith(parent + '.'):
                    targets.add(parent)
        graph[name] = targets
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one module (the import cycles)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    cycles = strongly_connected(import_graph())
    assert not cycles, 'modules that import each other (directly or through package ' \
        '__init__ files), at module level:\n' + '\n'.join(' <-> '.join(c) for c in cycles)


def test_the_cycle_finder_finds_cycles():
    graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
    assert strongly_connected(graph) == [['a', 'b', 'c']]


def test_every_known_exception_is_still_needed():
    for path, dest in KNOWN_LAZY_UPWARD:
        targets = imported_modules(REPO / path, top_level_only=False)
        assert any(subpackage(t) == dest for t in targets), \
            f'{path} no longer imports mmssd.{dest}: remove it from KNOWN_LAZY_UPWARD'
