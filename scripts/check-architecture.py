#!/usr/bin/env python3
"""Checks the dependency rules of docs/ARCHITECTURE.md; exits 1 on a violation.

1. Crates depend only on the crates the rules allow (from `cargo metadata`).
2. No import cycles between modules, at every level of each crate's module tree:
   among the children of a module (and the module's own code), the references
   between their subtrees form no cycle. A reference is a path through
   `crate::`, `super::`, `self::` or a child module's name, resolved through
   `pub use` re-exports to the module that defines the item. `mod` declarations
   and re-exports themselves are not references.
3. Every table of the migrations has one owner (the table in
   docs/ARCHITECTURE.md); only the owner writes it (INSERT, UPDATE, DELETE),
   and only modules of the owner's domain folder read it.

Plain Python rather than cargo-modules: that tool builds rust-analyzer (tens of
minutes on two cores) and has no notion of table owners; this needs neither a
build nor network.
"""

import json
import os
import re
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Which workspace crates each crate may depend on (normal dependencies).
ALLOWED_DEPS = {
    "protocol": set(),
    "bus": {"protocol"},
    "analytics": {"protocol", "bus"},
    "services": {"protocol", "bus"},
    "app": {"protocol", "services", "analytics"},
    "convene-frontend": {"app"},
    "convene": {"app", "services", "protocol", "bus", "analytics", "media"},
    # analytics-ingest runs the analytics consumer beside a bare one.
    "convene-bench": {"protocol", "app", "media", "bus", "analytics"},
    # The media plane: the WebRTC stack and the shared types, never the
    # database or Redis (the issue that made it says so).
    "media": {"protocol"},
}
# Crates whose module trees are checked for cycles, by source root.
CRATE_ROOTS = {
    "protocol": "protocol/src/lib.rs",
    "bus": "bus/src/lib.rs",
    "analytics": "analytics/src/lib.rs",
    "services": "services/src/lib.rs",
    "app": "app/src/lib.rs",
    "convene": "server/src/lib.rs",
    "convene-frontend": "frontend/src/lib.rs",
    "media": "media/src/lib.rs",
}

errors = []


def fail(msg):
    errors.append(msg)


# ---------------------------------------------------------------- crates
def check_crates():
    meta = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=ROOT
        )
    )
    names = {p["name"] for p in meta["packages"]}
    for p in meta["packages"]:
        name = p["name"]
        if name not in ALLOWED_DEPS:
            fail(f"crate {name} has no dependency rule in scripts/check-architecture.py")
            continue
        for d in p["dependencies"]:
            if d["name"] in names and d.get("kind") is None:
                if d["name"] not in ALLOWED_DEPS[name]:
                    fail(f"crate {name} may not depend on {d['name']}")


# ---------------------------------------------------------------- modules
STRING = re.compile(r'r(#*)".*?"\1|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])\'', re.S)
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def strip(code):
    """Source without comments and string literals (their text is not code)."""
    # Remove strings first (a `//` inside a string is not a comment), then comments.
    code = STRING.sub('""', code)
    return COMMENT.sub("", code)


def module_files(root_file):
    """Maps module path tuples to files, following `mod x;` declarations."""
    mods = {}

    def visit(path, file, is_dir_owner):
        mods[path] = file
        src = strip(open(file, encoding="utf-8").read())
        base = os.path.dirname(file) if is_dir_owner else os.path.splitext(file)[0]
        for m in re.finditer(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", src, re.M):
            name = m.group(1)
            a = os.path.join(base, name + ".rs")
            b = os.path.join(base, name, "mod.rs")
            if os.path.exists(a):
                visit(path + (name,), a, False)
            elif os.path.exists(b):
                visit(path + (name,), b, True)

    visit((), os.path.join(ROOT, root_file), True)
    return mods


USE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);")


def expand_use(tree):
    """`a::{b, c::{d, e as f}}` → [(["a","b"], "b"), (["a","c","d"], "d"), (["a","c","e"], "f")]."""
    # ` as ` is only a keyword between whitespace; mark it before the
    # whitespace goes, or names like `passwords` would split at "as".
    tree = re.sub(r"\s+as\s+", "@", tree.strip())
    tree = re.sub(r"\s+", "", tree)
    out = []

    def rec(prefix, t):
        if t.startswith("{") and t.endswith("}"):
            depth, start, parts = 0, 1, []
            for i, ch in enumerate(t):
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                elif ch == "," and depth == 1:
                    parts.append(t[start:i])
                    start = i + 1
            parts.append(t[start:-1])
            for p in parts:
                if p:
                    rec(prefix, p)
            return
        m = re.match(r"^([\w:]*?)(?:::)?(\{.*\})$", t)
        if m and m.group(2):
            head = [s for s in m.group(1).split("::") if s]
            rec(prefix + head, m.group(2))
            return
        alias = None
        if "@" in t:
            t, alias = t.split("@", 1)
        segs = [s for s in t.split("::") if s]
        if segs == ["self"]:
            segs = []
        elif segs and segs[-1] == "self":
            segs = segs[:-1]
        full = prefix + segs
        if full:
            out.append((full, alias or (segs[-1] if segs else full[-1])))

    rec([], tree)
    return out


def check_module_cycles(crate, root_file):
    mods = module_files(root_file)
    sources = {p: strip(open(f, encoding="utf-8").read()) for p, f in mods.items()}
    children = defaultdict(set)
    for p in mods:
        if p:
            children[p[:-1]].add(p[-1])

    def absolute(cur, segs, inline=0):
        """Absolute segments of a path written in module `cur` (`inline` levels
        deep in inline `mod x { .. }` blocks), or None if external."""
        if not segs:
            return None
        head = segs[0]
        if head == "crate":
            return segs[1:]
        if head == "super":
            base = list(cur)
            while segs and segs[0] == "super":
                if inline > 0:
                    inline -= 1  # out of an inline module, still in this file
                else:
                    base = base[:-1]
                segs = segs[1:]
            return base + segs
        if head == "self":
            return list(cur) + segs[1:]
        if head in children[cur]:
            return list(cur) + segs
        return None

    # Re-exports: module → exported name → absolute path it stands for.
    exports = defaultdict(dict)
    for p, src in sources.items():
        for m in USE.finditer(src):
            if not m.group(1):
                continue
            for segs, alias in expand_use(m.group(2)):
                a = absolute(p, segs)
                if a is not None:
                    exports[p][alias] = a

    def resolve(segs, depth=0):
        """The module that defines what an absolute path names."""
        cur = ()
        for i, s in enumerate(segs):
            if s in children[cur]:
                cur = cur + (s,)
                continue
            if s in exports[cur] and depth < 10:
                return resolve(exports[cur][s], depth + 1)
            break
        return cur

    def inline_spans(src):
        """Byte ranges of inline `mod x { .. }` blocks."""
        spans = []
        for m in re.finditer(r"\bmod\s+\w+\s*\{", src):
            depth, i = 0, m.end() - 1
            while i < len(src):
                if src[i] == "{":
                    depth += 1
                elif src[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            spans.append((m.start(), i))
        return spans

    edges = defaultdict(set)
    path_re = re.compile(r"\b((?:crate|super|self)(?:::\w+)+|[a-z_]\w*(?:::\w+)+)")
    for p, src in sources.items():
        spans = inline_spans(src)

        def depth(at):
            return sum(1 for a, b in spans if a < at < b)

        reexports = []
        for m in USE.finditer(src):
            if m.group(1):
                # A re-export is a facade, not a dependency.
                reexports.append((m.start(), m.end()))
                continue
            for segs, _ in expand_use(m.group(2)):
                a = absolute(p, segs, depth(m.start()))
                if a is not None:
                    t = resolve(a)
                    if t != p:
                        edges[p].add(t)
        for m in path_re.finditer(src):
            if any(a <= m.start() < b for a, b in reexports):
                continue
            segs = m.group(1).split("::")
            a = absolute(p, segs, depth(m.start()))
            if a is None:
                continue
            t = resolve(a)
            if t != p:
                edges[p].add(t)

    # At every module, the subtrees of its children (and its own code) must not
    # reference each other in a cycle.
    for parent in list(mods):
        kids = sorted(children[parent])
        if not kids:
            continue
        nodes = ["(self)"] + kids

        def group(mod):
            if mod == parent:
                return "(self)"
            if len(mod) > len(parent) and mod[: len(parent)] == parent:
                return mod[len(parent)]
            return None

        g = defaultdict(set)
        for u, vs in edges.items():
            gu = group(u)
            if gu is None:
                continue
            for v in vs:
                gv = group(v)
                if gv is not None and gv != gu:
                    g[gu].add(gv)
        cycle = find_cycle(nodes, g)
        if cycle:
            where = "::".join(parent) or "crate root"
            names = [n if n == "(self)" else "::".join(parent + (n,)) for n in cycle]
            fail(f"{crate}: import cycle under {where}: " + " -> ".join(names))


def find_cycle(nodes, g):
    color, stack = {}, []

    def dfs(n):
        color[n] = 1
        stack.append(n)
        for m in sorted(g[n]):
            if color.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in color:
                c = dfs(m)
                if c:
                    return c
        stack.pop()
        color[n] = 2
        return None

    for n in nodes:
        if n not in color:
            c = dfs(n)
            if c:
                return c
    return None


# ---------------------------------------------------------------- tables
def check_tables():
    arch = open(os.path.join(ROOT, "docs/ARCHITECTURE.md"), encoding="utf-8").read()
    owners = {}
    for m in re.finditer(r"^\|\s*`([a-z_.]+)`\s*\|\s*`([^`]+)`\s*\|", arch, re.M):
        owners[m.group(1)] = m.group(2)
    tables = set()
    for f in sorted(os.listdir(os.path.join(ROOT, "migrations"))):
        sql = open(os.path.join(ROOT, "migrations", f), encoding="utf-8").read()
        tables |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?([a-z_.]+)", sql))
        tables -= set(re.findall(r"DROP TABLE (?:IF EXISTS )?([a-z_.]+)", sql))
    for t in sorted(tables - owners.keys()):
        fail(f"table {t} has no owner in docs/ARCHITECTURE.md")
    for t in sorted(owners.keys() - tables):
        fail(f"docs/ARCHITECTURE.md names an owner of {t}, which no migration creates")

    def domain_of(owner):
        # A crate owns its tables as a whole; in services, a domain folder's
        # modules may read each other's tables.
        parts = owner.split("/")
        if owner.endswith("/"):
            return owner
        if parts[0] == "services" and len(parts) > 3:
            return "/".join(parts[:3]) + "/"
        return owner

    sql_ref = re.compile(
        r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|FROM|JOIN)\s+([a-z_][a-z_0-9.]*)\b(?!\s*\()"
    )
    for crate_dir in ["analytics", "app", "bus", "protocol", "server", "services"]:
        for dirpath, _, files in os.walk(os.path.join(ROOT, crate_dir, "src")):
            for f in files:
                if not f.endswith(".rs"):
                    continue
                path = os.path.relpath(os.path.join(dirpath, f), ROOT)
                code = COMMENT.sub("", open(os.path.join(ROOT, path), encoding="utf-8").read())
                for m in sql_ref.finditer(code):
                    verb, table = re.sub(r"\s+", " ", m.group(1)), m.group(2)
                    if table not in owners:
                        continue
                    owner = owners[table]
                    write = verb in ("INSERT INTO", "UPDATE", "DELETE FROM")
                    if owner.endswith("/"):
                        ok = path.startswith(owner)
                    elif write:
                        ok = path == owner
                    else:
                        ok = path == owner or path.startswith(domain_of(owner))
                    if not ok:
                        line = code[: m.start()].count("\n") + 1
                        fail(
                            f"{path}:{line}: {'writes' if write else 'reads'} {table}, "
                            f"owned by {owner}"
                        )


def main():
    check_crates()
    for crate, root in CRATE_ROOTS.items():
        check_module_cycles(crate, root)
    check_tables()
    if errors:
        for e in errors:
            print(f"architecture: {e}", file=sys.stderr)
        sys.exit(1)
    print("architecture: crate rules, module cycles and table owners hold")


if __name__ == "__main__":
    main()
