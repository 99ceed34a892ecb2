#!/usr/bin/env python3
"""Checks Herald's folder layering against bazel/layers.bzl.

bazel/layers.bzl says which top-level folder may use which (LAYERS) and which
folders may use each system library (THIRD_PARTY, THIRD_PARTY_INCLUDES). The
herald_* macros (bazel/herald.bzl) already refuse a forbidden BUILD dep when a
package loads; this script is the second line of defence for BUILD files and
the only one for #includes. It checks:

  a. LAYERS itself: every folder named in a value is a key, no cycle;
  b. every top-level folder with code (.cc .h .proto or a BUILD file) is in
     LAYERS (third_party/, bazel/, hidden folders and bazel-* are not layers);
  c. every `#include "folder/..."`, `#include <library/...>` and proto
     `import "folder/..."` is allowed for the file's own top-level folder;
  d. every //label under deps, data, srcs, hdrs, tools and actual in a BUILD
     file is allowed for the BUILD file's folder (visibility is not a dep);
  e. the folder edges actually found (c and d) have no cycle;
  f. README.md holds the rendered graph between the lines
     `<!-- layers: begin -->` and `<!-- layers: end -->`.

Usage:
  python3 tools/layering/check_layers.py [--root DIR] [--layers FILE]
      [--readme FILE] [--write-readme] [--print-graph]

  --root DIR      the repository to check (default: two levels above this
                  script, symlinks resolved)
  --layers FILE   the graph (default: ROOT/bazel/layers.bzl)
  --readme FILE   the README holding the graph (default: ROOT/README.md)
  --write-readme  rewrite the graph between the README's markers, then check
  --print-graph   print the rendered graph block and exit

Each violation is printed as `path:line: message` (path relative to ROOT).
Exit status: 0 when there is no violation (a one-line summary is printed),
1 when there is at least one, 2 on a usage error.
"""

import argparse
import ast
import collections
import os
import re
import sys

# Top-level folders that are not layers: system library wrappers and Bazel
# stand-ins, and the macros plus the graph itself. Anyone may use them.
NOT_LAYERS = frozenset(["third_party", "bazel"])
SOURCE_SUFFIXES = (".cc", ".h", ".proto")
BUILD_NAMES = frozenset(["BUILD", "BUILD.bazel"])

# Rule attributes whose labels are dependencies. `visibility` and
# `default_visibility` name who may depend on a target, not what it uses.
DEP_ATTRIBUTES = frozenset(["deps", "data", "srcs", "hdrs", "tools", "actual"])

README_BEGIN = "<!-- layers: begin -->"
README_END = "<!-- layers: end -->"
README_MARKERS = (f"one line {README_BEGIN!r} and, below it, "
                  f"one line {README_END!r}")
README_FIX = "run python3 tools/layering/check_layers.py --write-readme"

# Directives are matched at the start of a line only, so `// #include ...`
# and ` * #include ...` in comments do not count. Block comments and raw
# strings are not stripped: a miss would be silent, a false alarm is not.
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
IMPORT_RE = re.compile(r'^\s*import\s+(?:(?:public|weak)\s+)?"([^"]+)"')

Violation = collections.namedtuple("Violation", ["path", "line", "message"])

# One #include, import or BUILD label: `text` as written (with its <> or ""),
# the folder it reaches (or None) and the library it uses (or None).
Reference = collections.namedtuple(
    "Reference", ["line", "text", "verb", "folder", "library"])


class LayersError(Exception):
    """bazel/layers.bzl cannot be read as the expected plain data."""

    def __init__(self, path, line, message):
        super().__init__(f"{path}:{line}: {message}")


class Layers:
    """The contents of bazel/layers.bzl, with the line of each dict key.

    Attributes:
      path: the file's path for messages.
      folders: LAYERS, folder -> the folders it may use (besides itself).
      libraries: THIRD_PARTY, library -> the folders that may use it.
      includes: THIRD_PARTY_INCLUDES, angle-include prefix -> library.
      lines: (variable name, key) -> line of that key; (name, None) -> line
        of the assignment.
    """

    def __init__(self, path, values, lines):
        self.path = path
        self.folders = values["LAYERS"]
        self.libraries = values["THIRD_PARTY"]
        self.includes = values["THIRD_PARTY_INCLUDES"]
        self.lines = lines

    def line(self, name, key=None):
        return self.lines.get((name, key), self.lines.get((name, None), 1))


# --- Loading bazel/layers.bzl ----------------------------------------------


def _is_str_list(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# Variable -> (check of each dict value, what the value should be).
_LAYERS_SHAPES = {
    "LAYERS": (_is_str_list, "a list of folder names"),
    "THIRD_PARTY": (_is_str_list, "a list of folder names"),
    "THIRD_PARTY_INCLUDES": (lambda v: isinstance(v, str), "a library name"),
}


def load_layers(path, display_path):
    """Reads the graph as data: ast.literal_eval of each top-level assignment.

    Args:
      path: the file to read.
      display_path: its name in messages.

    Returns:
      A Layers.

    Raises:
      LayersError: the file is missing, is not valid syntax, or a variable is
        absent or not a dict of the expected shape.
    """
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=display_path)
    except OSError as e:
        raise LayersError(display_path, 1, f"cannot read: {e.strerror}")
    except SyntaxError as e:
        raise LayersError(display_path, e.lineno or 1, f"syntax error: {e.msg}")

    values, lines = {}, {}
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign) and
                len(statement.targets) == 1 and
                isinstance(statement.targets[0], ast.Name)):
            continue
        name = statement.targets[0].id
        if name not in _LAYERS_SHAPES:
            continue
        try:
            values[name] = ast.literal_eval(statement.value)
        except ValueError:
            raise LayersError(display_path, statement.lineno,
                              f"{name} must be plain data (a dict literal)")
        lines[(name, None)] = statement.lineno
        if isinstance(statement.value, ast.Dict):
            for key in statement.value.keys:
                if isinstance(key, ast.Constant):
                    lines[(name, key.value)] = key.lineno

    for name, (is_valid, expected) in _LAYERS_SHAPES.items():
        line = lines.get((name, None), 1)
        if name not in values:
            raise LayersError(display_path, line, f"{name} is not assigned")
        value = values[name]
        if not isinstance(value, dict):
            raise LayersError(display_path, line, f"{name} must be a dict")
        for key, item in value.items():
            if not isinstance(key, str) or not is_valid(item):
                raise LayersError(
                    display_path, lines.get((name, key), line),
                    f"{name}[{key!r}] must be {expected}")
    return Layers(display_path, values, lines)


# --- Graph helpers -----------------------------------------------------------


def _shortest_cycle(graph, start):
    """The shortest path start -> ... -> start in graph, or None."""
    parents = {}
    queue = collections.deque([start])
    while queue:
        node = queue.popleft()
        for successor in graph.get(node, ()):
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return path[::-1] + [start]
            if successor not in parents:
                parents[successor] = node
                queue.append(successor)
    return None


def find_cycles(graph, order):
    """One cycle through each node of `order` not already on a reported one.

    Args:
      graph: node -> iterable of successors.
      order: the nodes to start from, in the order to report them.

    Returns:
      A list of cycles, each a list of nodes whose last is its first.
    """
    cycles, covered = [], set()
    for start in order:
        if start in covered:
            continue
        cycle = _shortest_cycle(graph, start)
        if cycle:
            cycles.append(cycle)
            covered.update(cycle)
    return cycles


def _names(folders):
    return ", ".join(folders) if folders else "nothing"


# --- a. LAYERS itself --------------------------------------------------------


def _unknown(variable, key, name, where, keys_of):
    """`variable[key]` names `name`, which is not a key of `keys_of`."""
    return Violation(where[0], where[1],
                     f"{variable}[{key!r}] names {name!r}, "
                     f"which is not a key of {keys_of}")


def check_layers_data(layers):
    """Names in values that are not keys, and cycles, in layers.bzl."""
    violations = []
    for folder, deps in layers.folders.items():
        where = (layers.path, layers.line("LAYERS", folder))
        violations += [_unknown("LAYERS", folder, dep, where, "LAYERS")
                       for dep in deps if dep not in layers.folders]
    for library, users in layers.libraries.items():
        where = (layers.path, layers.line("THIRD_PARTY", library))
        violations += [_unknown("THIRD_PARTY", library, user, where, "LAYERS")
                       for user in users if user not in layers.folders]
    for prefix, library in layers.includes.items():
        # A library absent from THIRD_PARTY is free for all, so mapping an
        # include to it would silently check nothing: most likely a typo.
        if library not in layers.libraries:
            where = (layers.path, layers.line("THIRD_PARTY_INCLUDES", prefix))
            violations.append(_unknown("THIRD_PARTY_INCLUDES", prefix, library,
                                       where, "THIRD_PARTY"))
    for cycle in find_cycles(layers.folders, list(layers.folders)):
        violations.append(Violation(
            layers.path, layers.line("LAYERS", cycle[0]),
            "cycle in LAYERS: " + " -> ".join(cycle)))
    return violations


# --- b. Top-level folders ----------------------------------------------------


def _is_skipped_dir(name):
    return name.startswith(".") or name.startswith("bazel-")


def top_level_dirs(root):
    """The top-level directories of root that may be layers, sorted."""
    return sorted(
        name for name in os.listdir(root)
        if not _is_skipped_dir(name) and name not in NOT_LAYERS and
        os.path.isdir(os.path.join(root, name)))


def walk_files(root, folder):
    """Paths (relative to root, with /) of the files under folder, sorted."""
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
        dirnames[:] = sorted(d for d in dirnames if not _is_skipped_dir(d))
        relative = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in sorted(filenames):
            yield f"{relative}/{name}"


def _is_code_file(path):
    name = path.rsplit("/", 1)[-1]
    return name.endswith(SOURCE_SUFFIXES) or name in BUILD_NAMES


def check_folder_listed(folder, files, layers):
    """A folder holding code must be a key of LAYERS."""
    first = next((f for f in files if _is_code_file(f)), None)
    if first is None or folder in layers.folders:
        return []
    return [Violation(
        first, 1,
        f"folder {folder!r} is not in {layers.path}; "
        "add it to LAYERS with the folders it may use")]


# --- c. #includes and proto imports ------------------------------------------


def library_of_include(include, layers):
    """The library an angle include belongs to, by its longest prefix."""
    best = None
    for prefix, library in layers.includes.items():
        # An entry ending in / is a directory prefix; any other is one header.
        matches = (include.startswith(prefix) if prefix.endswith("/")
                   else include == prefix)
        if matches and (best is None or len(prefix) > len(best[0])):
            best = (prefix, library)
    return best[1] if best else None


def _folder_of_path(path, known_folders):
    """The repository folder a quoted include or import names, or None."""
    if "/" not in path:
        return None  # a file next to the includer
    first = path.split("/", 1)[0]
    return first if first in known_folders else None


def source_references(text, is_proto, known_folders, layers):
    """The #includes (or proto imports) of a file's text, as References."""
    references = []
    for number, line in enumerate(text.splitlines(), start=1):
        if is_proto:
            match = IMPORT_RE.match(line)
            if match:
                target = match.group(1)
                references.append(Reference(
                    number, f'"{target}"', "import",
                    _folder_of_path(target, known_folders), None))
            continue
        match = INCLUDE_RE.match(line)
        if not match:
            continue
        bracket, target = match.groups()
        if bracket == '"':
            references.append(Reference(
                number, f'"{target}"', "include",
                _folder_of_path(target, known_folders), None))
        else:
            references.append(Reference(
                number, f"<{target}>", "include", None,
                library_of_include(target, layers)))
    return references


# --- d. BUILD labels ---------------------------------------------------------


def _label_strings(node):
    """(line, string) of each string constant under an attribute's value.

    Dict keys are skipped: in select({...}) they are config conditions
    (//conditions:default), not dependencies.
    """
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            yield node.lineno, node.value
        return
    if isinstance(node, ast.Dict):
        children = node.values
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _label_strings(child)


def build_labels(tree):
    """(line, label) of each //label under a dep attribute of a call, sorted."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg in DEP_ATTRIBUTES:
                found.update((line, text) for line, text in
                             _label_strings(keyword.value)
                             if text.startswith("//"))
    return sorted(found)


def label_reference(line, label):
    """A Reference for a //label, as bazel/herald.bzl reads labels."""
    package = label[2:].split(":", 1)[0]
    folder = package.split("/", 1)[0]
    if folder == "third_party":
        # //third_party:sqlite3, or //third_party/boost_json (its last part).
        if ":" in label:
            library = label.split(":", 1)[1]
        else:
            library = package.split("/")[-1]
        return Reference(line, label, "use", None, library)
    # bazel/ is the macros and the graph; the root package holds only the
    # README and other documents, no code to layer.
    if folder in NOT_LAYERS or not package:
        return Reference(line, label, "depend on", None, None)
    return Reference(line, label, "depend on", folder, None)


def parse_build(text, path):
    """The AST of a BUILD file, or a Violation if Python cannot parse it."""
    try:
        return ast.parse(text, filename=path), None
    except SyntaxError as e:
        return None, Violation(path, e.lineno or 1,
                               f"cannot parse as Starlark: {e.msg}")


# --- c. and d. judged --------------------------------------------------------


def judge(path, own, reference, layers):
    """A Violation if `own` may not use what the reference reaches, or None."""
    if reference.folder is not None and reference.folder != own:
        allowed = layers.folders[own]
        if reference.folder not in allowed:
            return Violation(
                path, reference.line,
                f"{own!r} may not {reference.verb} {reference.text} "
                f"({layers.path}: {own} may use {_names(allowed)})")
    if reference.library is not None:
        users = layers.libraries.get(reference.library)
        if users is not None and own not in users:
            return Violation(
                path, reference.line,
                f"{own!r} may not {reference.verb} {reference.text}: "
                f"{reference.library} belongs to {_names(users)}")
    return None


# --- e. Cycles in what the code does -----------------------------------------


def check_found_cycles(edges):
    """Cycles in the folder edges found, each with where every edge is.

    Args:
      edges: (from folder, to folder) -> "path:line" of its first occurrence.
    """
    graph = collections.defaultdict(list)
    for source, target in sorted(edges):
        graph[source].append(target)
    violations = []
    for cycle in find_cycles(graph, sorted(graph)):
        steps = list(zip(cycle, cycle[1:]))
        path, line = edges[steps[0]].rsplit(":", 1)
        evidence = "; ".join(f"{a} -> {b}: {edges[(a, b)]}" for a, b in steps)
        violations.append(Violation(
            path, int(line),
            f"cycle between folders: {' -> '.join(cycle)} ({evidence})"))
    return violations


# --- f. The README graph -----------------------------------------------------


def _aligned(rows):
    """`name -> values` lines with the arrows in one column."""
    width = max((len(name) for name, _ in rows), default=0)
    return [f"{name.ljust(width)} -> {', '.join(values) or '(nothing)'}"
            for name, values in rows]


def render_graph(layers):
    """The lines to hold between the README markers (a fenced text block)."""
    # The text names bazel/layers.bzl whatever --layers says, so that the
    # README does not depend on how the checker was run.
    lines = ["```text",
             "# folder -> the folders it may use besides itself "
             "(bazel/layers.bzl)"]
    lines += _aligned(list(layers.folders.items()))
    if layers.libraries:
        lines += ["",
                  "# library -> the only folders that may use it "
                  "(any other: every folder)"]
        lines += _aligned([(f"third_party:{name}", users)
                           for name, users in layers.libraries.items()])
    lines.append("```")
    return lines


def find_markers(lines):
    """Indexes of the begin and end marker lines.

    Returns:
      (begin, end), or None unless there is exactly one of each, in order.
    """
    begins = [i for i, line in enumerate(lines) if line.strip() == README_BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == README_END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        return None
    return begins[0], ends[0]


def check_readme(readme_path, display_path, layers):
    """The README's graph must be the rendered one."""
    try:
        with open(readme_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return [Violation(display_path, 1, f"cannot read: {e.strerror}")]
    markers = find_markers(lines)
    if markers is None:
        return [Violation(display_path, 1,
                          f"the Layout graph is missing: add {README_MARKERS}"
                          f" to the Layout section, then {README_FIX}")]
    begin, end = markers
    if lines[begin + 1:end] != render_graph(layers):
        return [Violation(display_path, begin + 1,
                          f"the Layout graph is out of date; {README_FIX}")]
    return []


def write_readme(readme_path, display_path, layers):
    """Rewrites the graph between the markers; a Violation if it cannot."""
    try:
        with open(readme_path, encoding="utf-8") as f:
            lines = f.read().splitlines(keepends=True)
    except OSError as e:
        return Violation(display_path, 1, f"cannot read: {e.strerror}")
    markers = find_markers(lines)
    if markers is None:
        return Violation(display_path, 1,
                         "cannot write the Layout graph: add "
                         f"{README_MARKERS} to the Layout section first")
    begin, end = markers
    block = [line + "\n" for line in render_graph(layers)]
    updated = lines[:begin + 1] + block + lines[end:]
    if updated != lines:
        with open(readme_path, "w", encoding="utf-8") as f:
            f.writelines(updated)
        print(f"layers: wrote the graph into {display_path}")
    return None


# --- Driver ------------------------------------------------------------------


def _read_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


class Checker:
    """Runs checks b to e over a tree and keeps the counts for the summary."""

    def __init__(self, root, layers):
        self.root = root
        self.layers = layers
        # A quoted include's first component is a folder if it is a top-level
        # directory or a layer still to be created; others ("absl/...") are
        # outside the repository.
        self.known_folders = ((set(top_level_dirs(root)) | set(layers.folders))
                              - NOT_LAYERS)
        self.edges = {}
        self.source_count = 0
        self.build_count = 0

    def run(self):
        violations = []
        for folder in top_level_dirs(self.root):
            files = list(walk_files(self.root, folder))
            violations += check_folder_listed(folder, files, self.layers)
            if folder not in self.layers.folders:
                continue  # reported above when it holds code; no rule to apply
            for path in files:
                violations += self.check_file(path, folder)
        violations += check_found_cycles(self.edges)
        return violations

    def check_file(self, path, own):
        name = path.rsplit("/", 1)[-1]
        if name in BUILD_NAMES:
            self.build_count += 1
            tree, error = parse_build(_read_text(self._full(path)), path)
            if error:
                return [error]
            references = [label_reference(line, label)
                          for line, label in build_labels(tree)]
        elif name.endswith(SOURCE_SUFFIXES):
            self.source_count += 1
            references = source_references(
                _read_text(self._full(path)), name.endswith(".proto"),
                self.known_folders, self.layers)
        else:
            return []
        violations = []
        for reference in references:
            if reference.folder is not None and reference.folder != own:
                self.edges.setdefault((own, reference.folder),
                                      f"{path}:{reference.line}")
            violation = judge(path, own, reference, self.layers)
            if violation:
                violations.append(violation)
        return violations

    def _full(self, path):
        return os.path.join(self.root, *path.split("/"))


def display(root, path):
    """path relative to root when it is inside root, else as given."""
    relative = os.path.relpath(os.path.abspath(path), root)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path
    return relative.replace(os.sep, "/")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Checks #includes, BUILD deps and README.md against "
        "bazel/layers.bzl.")
    parser.add_argument(
        "--root", metavar="DIR",
        help="repository root (default: two levels above this script)")
    parser.add_argument(
        "--layers", metavar="FILE",
        help="the graph (default: ROOT/bazel/layers.bzl)")
    parser.add_argument(
        "--readme", metavar="FILE",
        help="README holding the graph (default: ROOT/README.md)")
    parser.add_argument(
        "--write-readme", action="store_true",
        help="rewrite the README's graph between its markers, then check")
    parser.add_argument(
        "--print-graph", action="store_true",
        help="print the rendered graph block and exit")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    default_root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.realpath(__file__))))
    root = os.path.realpath(args.root or default_root)
    if not os.path.isdir(root):
        print(f"check_layers.py: --root {root}: not a directory",
              file=sys.stderr)
        return 2
    layers_path = args.layers or os.path.join(root, "bazel", "layers.bzl")
    readme_path = args.readme or os.path.join(root, "README.md")
    readme_display = display(root, readme_path)

    try:
        layers = load_layers(layers_path, display(root, layers_path))
    except LayersError as e:
        print(e)
        return 1
    if args.print_graph:
        print("\n".join(render_graph(layers)))
        return 0
    if args.write_readme:
        error = write_readme(readme_path, readme_display, layers)
        if error:
            print("{}:{}: {}".format(*error))
            return 1

    checker = Checker(root, layers)
    violations = check_layers_data(layers)
    violations += checker.run()
    violations += check_readme(readme_path, readme_display, layers)
    for violation in violations:
        print("{}:{}: {}".format(*violation))
    if violations:
        print(f"layers: {len(violations)} violation(s); "
              f"the graph is {layers.path}")
        return 1
    print(f"layers: {checker.source_count} files, "
          f"{checker.build_count} BUILD files, no violation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
