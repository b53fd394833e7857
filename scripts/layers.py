#!/usr/bin/env python3
"""The module graph of src/: which file imports which, import cycles, and the
layering rules (which folder may import which).

Usage: python3 scripts/layers.py [--graph]

A file's imports are its `use crate::...`, `use super::...` and `crate::`
paths anywhere in it (so `crate::tokio::Clock::start()` in a body counts).
Each path resolves to the longest module file that exists. Exits 1 on a
cycle between files or on an import that breaks a layer rule.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_files():
    """Maps module path tuples to files: ("tokio", "stream") -> src/tokio/stream.rs."""
    mods = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            # Unit tests kept in their own files are not part of the graph.
            if not f.endswith(".rs") or f.endswith("tests.rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), ROOT)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib"):
                parts = parts[:-1]
            mods[tuple(parts)] = rel
    return mods


MODS = module_files()
PATH_RE = re.compile(r"\b(crate|super)((?:::\w+)+)")
USE_GROUP_RE = re.compile(r"use\s+(crate|super)((?:::\w+)*)::\{([^;]*)\};", re.S)


def reexports(module):
    """Names a module file re-exports with `pub use` (or `pub(crate) use`):
    name -> the path it stands for, from the crate root."""
    rel = MODS.get(tuple(module))
    if rel is None:
        return {}
    text = re.sub(r"//[^\n]*", "", open(os.path.join(ROOT, rel)).read())
    found = {}
    for m in re.finditer(r"pub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
        spec = " ".join(m.group(1).split())
        head, _, group = spec.partition("::{")
        if group:
            items = [i.strip() for i in group.rstrip("}").split(",") if i.strip()]
            prefix = head
        else:
            prefix, _, last = spec.rpartition("::")
            items = [last]
        parts = prefix.split("::")
        if parts[0] == "crate":
            start = []
            parts = parts[1:]
        elif parts[0] == "self":
            start = list(module)
            parts = parts[1:]
        elif parts[0] == "super":
            start = list(module[:-1])
            parts = parts[1:]
        else:
            # A child module, as `pub use connection::Connection` in lib.rs.
            start = list(module)
        for item in items:
            name, _, alias = item.partition(" as ")
            name = name.strip()
            found[(alias or name).strip()] = start + parts + [name]
    return found


def resolve(base, names, depth=0):
    """The file defining `base + names`: the longest module prefix, then
    through the `pub use` re-exports of that module."""
    full = tuple(base) + tuple(names)
    for n in range(len(full), -1, -1):
        if full[:n] in MODS:
            if n < len(full) and depth < 8:
                target = reexports(full[:n]).get(full[n])
                if target is not None:
                    return resolve([], target + list(full[n + 1:]), depth + 1)
            return MODS[full[:n]]
    return None


def module_of(rel):
    parts = rel[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


def imports(rel):
    text = open(os.path.join(ROOT, rel)).read()
    # Tests inside a file do not count.
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
    text = re.sub(r"//[^\n]*", "", text)
    me = module_of(rel)
    found = set()

    def add(kind, path, extra=()):
        names = [p for p in path.split("::") if p] + list(extra)
        if kind == "crate":
            base = []
        else:
            # `super` is the folder's module from a file, the parent
            # folder's from a mod.rs; each further `super` goes one up.
            base = list(me[:-1])
            while names and names[0] == "super":
                names.pop(0)
                base = base[:-1]
        target = resolve(base, names)
        if target and target != rel:
            found.add(target)

    for m in USE_GROUP_RE.finditer(text):
        kind, path, group = m.groups()
        for item in re.split(r"[,\s]+", re.sub(r"\{[^}]*\}", "", group)):
            item = item.strip()
            if item and item not in ("self",):
                add(kind, path, item.split("::")[:1])
            elif item == "self":
                add(kind, path)
    for m in PATH_RE.finditer(text):
        add(m.group(1), m.group(2))
    return found


def layer(rel):
    top = rel.split(os.sep)[0]
    return LAYER_OF.get(top, LAYER_OF.get(rel, "root"))


# Folder -> layer; a layer may import its own and the ones listed.
LAYER_OF = {
    "proto": "proto",
    "shared": "shared",
    "blocking": "adapter",
    "tokio": "adapter",
    "integrations": "integration",
    "app": "app",
    "lib.rs": "root",
}
MAY_IMPORT = {
    "proto": {"proto"},
    "shared": {"proto", "shared"},
    "adapter": {"proto", "shared"},
    "integration": {"proto", "shared", "adapter", "integration"},
    "app": {"proto", "shared", "app"},
    "root": {"proto", "shared", "adapter", "integration", "app", "root"},
}


def main():
    graph = {rel: imports(rel) for rel in MODS.values()}
    if "--graph" in sys.argv:
        for rel in sorted(graph):
            print(rel, "->", ", ".join(sorted(graph[rel])))
    # Cycles: strongly connected components (Tarjan).
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    bad = 0
    for comp in sccs:
        print("cycle:", " <-> ".join(comp))
        bad += 1
    for rel, targets in sorted(graph.items()):
        mine = layer(rel)
        # A folder's own mod.rs and lib.rs re-export what they hold.
        for t in sorted(targets):
            theirs = layer(t)
            if theirs not in MAY_IMPORT.get(mine, set()) and mine != "root":
                same_adapter = mine == theirs == "adapter" and rel.split(os.sep)[0] == t.split(os.sep)[0]
                if not same_adapter:
                    print(f"layer: {rel} ({mine}) imports {t} ({theirs})")
                    bad += 1
            elif mine == theirs == "adapter" and rel.split(os.sep)[0] != t.split(os.sep)[0]:
                print(f"layer: {rel} imports another adapter's {t}")
                bad += 1
    if bad:
        sys.exit(1)
    print(f"{len(graph)} files, no cycle, every import within its layer's rules")


if __name__ == "__main__":
    main()
