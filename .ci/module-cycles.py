#!/usr/bin/env python3
"""Fails when modules of a crate import each other in a circle.

Each source file is a module; `a` depends on `b` when `a` names an item that lives in `b`
(through `use crate::...`, `use super::...` or an inline `crate::`/`super::` path). A name
re-exported with `pub use` is followed to the module that defines it, so `crate::Error` counts
as a dependency on `error.rs`, not on `lib.rs`. A parent declaring `mod child;` is not a
dependency by itself. `#[cfg(test)]` modules at the end of a file are not read.
Usage: module-cycles.py CRATE_SRC_DIR...   (exit 1 and the circles when there are any)
"""
import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def modules(src: Path):
    """module path (tuple) -> file"""
    out = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts == ["lib"] or parts == ["main"]:
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        out[tuple(parts)] = f
    # files under src/bin or reached by #[path] are ignored; only modules reachable by name count
    return out


def strip(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*(pub(\(crate\))? )?mod " + IDENT + r"\s*\{", text, re.M)
    if m:
        text = text[: m.start()]
    # string literals can hold `crate::` in messages
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text


def expand(tree: str):
    """`a::{b::C, d}` -> ['a::b::C', 'a::d']"""
    tree = tree.strip()
    i = tree.find("{")
    if i < 0:
        return [tree.split(" as ")[0].strip()]
    prefix, body = tree[:i], tree[i + 1 : tree.rfind("}")]
    items, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    out = []
    for it in items:
        if it.strip():
            for e in expand(it):
                out.append(prefix + e if e != "self" else prefix.rstrip(":"))
    return out


def references(text: str, children=()):
    refs = []
    # `pub use child::X` is how a module shows its children, not a use of them
    body = re.sub(r"\bpub(?:\([^)]*\))?\s+use\s+[^;]+;", "", text)
    for c in children:
        if re.search(r"(?<![A-Za-z0-9_:])" + c + r"::", body):
            refs.append("self::" + c)
    for m in re.finditer(r"(?<!pub )\buse\s+([^;]+);", body):
        refs.extend(expand(re.sub(r"\s+", " ", m.group(1))))
    for m in re.finditer(r"(?<![A-Za-z0-9_:])((?:crate|super|self)(?:::" + IDENT + r")+)", body):
        refs.append(m.group(1))
    return refs


def reexports(text: str):
    """name -> path of a `pub use`"""
    out = {}
    for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
        for p in expand(re.sub(r"\s+", " ", m.group(1))):
            name = p.split("::")[-1]
            out[name] = p
    return out


def resolve(path, here, mods, exports, depth=0):
    segs = path.split("::")
    if segs[0] == "crate":
        base, segs = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = here
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    elif segs[0] in ("std", "core", "alloc"):
        return None
    else:
        # `use child::X` from inside a module: a child module of `here`
        if here + (segs[0],) in mods:
            base = here
        else:
            return None
    mod = base
    while segs and mod + (segs[0],) in mods:
        mod = mod + (segs[0],)
        segs = segs[1:]
    if segs and depth < 8 and segs[0] in exports.get(mod, {}):
        target = resolve(exports[mod][segs[0]], mod, mods, exports, depth + 1)
        if target is not None:
            return target
    return mod


def cycles(src: Path):
    mods = modules(src)
    texts = {m: strip(f.read_text()) for m, f in mods.items()}
    exports = {m: reexports(t) for m, t in texts.items()}
    graph = {m: set() for m in mods}
    for m, t in texts.items():
        children = [k[-1] for k in mods if len(k) == len(m) + 1 and k[: len(m)] == m]
        for r in references(t, children):
            target = resolve(r, m, mods, exports)
            if target is not None and target != m and target in mods:
                graph[m].add(target)
    # Tarjan's strongly connected components
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
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
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    name = lambda m: str(mods[m].relative_to(src))
    return [sorted(name(m) for m in c) for c in out]


def main():
    bad = 0
    for d in sys.argv[1:]:
        for c in cycles(Path(d)):
            bad += 1
            print(f"{d}: import circle: {' <-> '.join(c)}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
