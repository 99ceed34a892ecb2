"""Herald's Bazel macros: every BUILD file declares its targets with these.

  load("//bazel:herald.bzl", "herald_cc_library", "herald_cc_test")

  herald_cc_library(
      name = "inbox",
      srcs = ["inbox.cc"],
      hdrs = ["inbox.h"],
      visibility = ["//visibility:public"],
      deps = ["//database", "//messaging:metadata"],
  )

What they add to the native rules (in the style of Envoy's envoy_cc_*):
  - The folder graph (bazel/layers.bzl) at load time: a dep on a folder, or on
    a //third_party library, that this folder may not use fails the build
    with a message naming both. tools/layering/check_layers.py applies the
    same graph to #includes.
  - Everything in a `testing/` folder is testonly.
  - herald_pg_test: a test that runs against a throwaway PostgreSQL server
    (database/testing/backends.h) carries the fixture and its tags.
  - herald_fuzz_test: a libFuzzer target, replayed over its seed corpus as a
    test, and fuzzed by tools/fuzz.sh.
  - herald_system_library (third_party/ only): a Debian library, visible to the
    folders layers.bzl names for it.
Targets are private unless they pass `visibility` (each package's BUILD sets
default_visibility private); a package opens only its API targets.
"""

load("//bazel:layers.bzl", "LAYERS", "THIRD_PARTY")

def _folder(package):
    return package.split("/")[0]

def _check_deps(name, labels):
    """Fails when `labels` reach a folder or library this package may not use."""
    package = native.package_name()
    own = _folder(package)
    if own not in LAYERS:
        fail("//%s:%s: folder '%s' is not in bazel/layers.bzl; add it with the folders it may use" % (package, name, own))
    for label in labels:
        if type(label) != "string" or not label.startswith("//"):
            continue  # same package, or an external repository (@...)
        dep_package = label[2:].split(":")[0]
        dep_folder = _folder(dep_package)
        if dep_folder == "third_party":
            library = label.split(":")[1] if ":" in label else dep_package.split("/")[-1]
            users = THIRD_PARTY.get(library)
            if users != None and own not in users:
                fail("//%s:%s: folder '%s' may not use %s; bazel/layers.bzl gives it to: %s" % (
                    package,
                    name,
                    own,
                    label,
                    ", ".join(users),
                ))
            continue
        if dep_folder in (own, "bazel", ""):
            continue  # its own folder, the macros, files at the root (README.md)
        if dep_folder not in LAYERS[own]:
            fail("//%s:%s: folder '%s' may not depend on %s; bazel/layers.bzl allows: %s" % (
                package,
                name,
                own,
                label,
                ", ".join(LAYERS[own]) or "(nothing)",
            ))

def _is_testing_package():
    return "testing" in native.package_name().split("/")

def _testonly(testonly):
    return True if _is_testing_package() else testonly

def herald_cc_library(name, deps = [], testonly = False, **kwargs):
    _check_deps(name, deps)
    native.cc_library(name = name, deps = deps, testonly = _testonly(testonly), **kwargs)

def herald_cc_binary(name, deps = [], data = [], testonly = False, **kwargs):
    _check_deps(name, deps + data)
    native.cc_binary(name = name, deps = deps, data = data, testonly = _testonly(testonly), **kwargs)

def herald_cc_test(name, deps = [], data = [], **kwargs):
    _check_deps(name, deps + data)
    native.cc_test(name = name, deps = deps, data = data, **kwargs)

def herald_pg_test(name, deps = [], tags = [], **kwargs):
    """A test run for each backend, SQLite and a throwaway PostgreSQL.

    Use database/testing/backends.h (ForEachBackend). The server runs as user
    postgres (runuser), which Bazel's sandbox does not allow; under CI=true a
    missing PostgreSQL fails the test instead of skipping it.
    """
    herald_cc_test(
        name = name,
        deps = deps + ([] if "//database/testing:backends" in deps else ["//database/testing:backends"]),
        tags = tags + ["no-sandbox", "postgres"],
        **kwargs
    )

def herald_fuzz_test(name, srcs, deps = [], corpus = None, **kwargs):
    """A libFuzzer target and the test that replays its corpus.

    `srcs` define `extern "C" int LLVMFuzzerTestOneInput(const uint8_t*,
    size_t)` and check their properties with FUZZ_CHECK
    (base/testing/fuzz_check.h). Two targets:

      <name>_fuzz_test  a cc_test (gcc, part of `bazel test //...`) that runs
                        the target once over every file under `corpus`, a
                        directory of this package (default:
                        fuzz/corpus/<name>), with
                        base/testing/fuzz_replay_main.cc;
      <name>_fuzzer     the libFuzzer binary, tagged manual: only
                        tools/fuzz.sh builds it, with clang
                        (`--config=fuzz`, see .bazelrc).
    """
    corpus = corpus or "fuzz/corpus/" + name
    files = native.glob([corpus + "/**"])
    if not files:
        fail("//%s:%s: the seed corpus %s/ is empty or missing" % (native.package_name(), name, corpus))
    deps = deps + ["//base/testing:fuzz_check"]
    herald_cc_test(
        name = name + "_fuzz_test",
        srcs = srcs,
        deps = deps + ["//base/testing:fuzz_replay_main"],
        data = files,
        args = ["%s/%s" % (native.package_name(), corpus)],
        size = kwargs.pop("size", "small"),
        **kwargs
    )
    herald_cc_binary(
        name = name + "_fuzzer",
        srcs = srcs,
        deps = deps,
        linkopts = ["-fsanitize=fuzzer"],
        # tools/fuzz.sh finds the targets, and their corpora, by these tags.
        tags = ["manual", "fuzzer", "fuzz_corpus=%s/%s" % (native.package_name(), corpus)],
        testonly = True,
    )

def herald_sh_test(name, data = [], **kwargs):
    _check_deps(name, data)
    native.sh_test(name = name, data = data, **kwargs)

def herald_proto_library(name, srcs, deps = [], visibility = None):
    """`<name>_proto` (proto_library) and `<name>_cc_proto` (C++)."""
    _check_deps(name, deps)
    native.proto_library(name = name + "_proto", srcs = srcs, deps = deps, visibility = visibility)
    native.cc_proto_library(name = name + "_cc_proto", deps = [":" + name + "_proto"], visibility = visibility)

def herald_system_library(name, linkopts = [], testonly = False, **kwargs):
    """A Debian library (headers in /usr/include), for third_party/BUILD.

    Visible to the folders bazel/layers.bzl names for it, or to all.
    """
    if native.package_name() != "third_party":
        fail("herald_system_library belongs in third_party/BUILD")
    users = THIRD_PARTY.get(name)
    if users == None:
        visibility = ["//visibility:public"]
    else:
        visibility = ["//%s:__subpackages__" % folder for folder in users]
    native.cc_library(
        name = name,
        linkopts = linkopts,
        testonly = testonly,
        visibility = visibility,
        **kwargs
    )
