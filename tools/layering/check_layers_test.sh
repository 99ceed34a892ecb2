#!/usr/bin/env bash
# Proves tools/layering/check_layers.py fails when it should: each case builds
# a small synthetic repository in $TEST_TMPDIR, breaks one rule, and asserts
# the exit status and that the output names the file:line and the rule.
# Finally the real bazel/layers.bzl must parse and be acyclic.
#
# Under Bazel: bazel test //tools/layering:check_layers_test
# By hand: TEST_SRCDIR must hold herald/ (a link to the repository), e.g.
#   mkdir -p /tmp/srcs && ln -sfn "$PWD" /tmp/srcs/herald
#   TEST_SRCDIR=/tmp/srcs TEST_TMPDIR=$(mktemp -d) bash tools/layering/check_layers_test.sh
set -euo pipefail

readonly CHECKER="${TEST_SRCDIR}/herald/tools/layering/check_layers.py"
readonly REAL_LAYERS="${TEST_SRCDIR}/herald/bazel/layers.bzl"
readonly PYTHON="${PYTHON:-python3}"

OUTPUT=""
STATUS=0

fail() {
  echo "FAIL: $*" >&2
  echo "--- checker output:" >&2
  echo "${OUTPUT}" >&2
  exit 1
}

# run_checker ROOT [ARGS...]: runs the checker on ROOT; sets OUTPUT and STATUS.
run_checker() {
  local root="$1"
  shift
  STATUS=0
  OUTPUT="$("${PYTHON}" "${CHECKER}" --root "${root}" "$@" 2>&1)" || STATUS=$?
}

expect_status() {
  [[ "${STATUS}" == "$1" ]] || fail "$2: exit status ${STATUS}, expected $1"
}

# expect_output TEXT CASE: the output holds TEXT (fixed string).
expect_output() {
  grep -qF -- "$1" <<<"${OUTPUT}" || fail "$2: output lacks: $1"
}

expect_no_output() {
  if grep -qF -- "$1" <<<"${OUTPUT}"; then fail "$2: output has: $1"; fi
}

# make_tree DIR: a clean synthetic repository whose README graph is current.
# Layers: base <- database, web <- messaging; rdkafka is messaging's, sqlite3
# is database's.
make_tree() {
  local root="$1"
  rm -rf "${root}"
  mkdir -p "${root}"/{bazel,base,database,web,messaging/pipeline,third_party,docs,.git}
  cat >"${root}/bazel/layers.bzl" <<'EOF'
"""A small folder graph for check_layers_test."""

LAYERS = {
    "base": [],
    "database": ["base"],
    "web": ["base"],
    "messaging": ["base", "database"],
}

THIRD_PARTY = {
    "rdkafka": ["messaging"],
    "sqlite3": ["database"],
}

THIRD_PARTY_INCLUDES = {
    "librdkafka/": "rdkafka",
    "sqlite3.h": "sqlite3",
}
EOF
  cat >"${root}/base/status.h" <<'EOF'
#pragma once
#include <string>
EOF
  cat >"${root}/base/BUILD" <<'EOF'
package(default_visibility = ["//visibility:private"])

cc_library(
    name = "status",
    hdrs = ["status.h"],
    deps = ["//third_party:absl"],
)
EOF
  cat >"${root}/database/db.cc" <<'EOF'
#include "database/db.h"
#include "base/status.h"
#include "absl/strings/str_cat.h"
#include <sqlite3.h>
EOF
  cat >"${root}/database/BUILD" <<'EOF'
cc_library(
    name = "db",
    srcs = ["db.cc"],
    deps = [
        "//base:status",
        "//third_party:sqlite3",
    ] + select({
        "//conditions:default": ["//bazel:nothing"],
    }),
)
EOF
  cat >"${root}/web/server.h" <<'EOF'
#pragma once
// Not a dependency, only prose: #include "messaging/consumer.h"
#include "base/status.h"
EOF
  cat >"${root}/messaging/consumer.cc" <<'EOF'
#include "messaging/consumer.h"
#include "database/db.h"
#include <librdkafka/rdkafka.h>
EOF
  cat >"${root}/messaging/pipeline/events.proto" <<'EOF'
syntax = "proto3";
import "google/protobuf/timestamp.proto";
import "base/status.proto";
EOF
  cat >"${root}/messaging/pipeline/BUILD" <<'EOF'
cc_library(
    name = "reader",
    deps = ["//messaging:consumer", "//database:db", "//third_party:rdkafka"],
)
EOF
  echo 'cc_library(name = "sqlite3")' >"${root}/third_party/BUILD"
  echo '#include "messaging/consumer.h"' >"${root}/third_party/wrapper.h"
  echo 'Notes; no code here.' >"${root}/docs/notes.md"
  # Hidden folders and bazel-* are not looked at, at the top or below.
  echo '#include "web/server.h"' >"${root}/.git/ignored.h"
  mkdir -p "${root}/bazel-out/base" "${root}/base/.cache"
  echo '#include "messaging/consumer.h"' >"${root}/bazel-out/base/ignored.h"
  echo '#include "messaging/consumer.h"' >"${root}/base/.cache/ignored.h"
  cat >"${root}/README.md" <<'EOF'
# Fake

## Layout

<!-- layers: begin -->
<!-- layers: end -->

The end.
EOF
  run_checker "${root}" --write-readme
  expect_status 0 "make_tree --write-readme"
}

test_clean_tree_passes() {
  local root="${TEST_TMPDIR}/clean"
  make_tree "${root}"
  run_checker "${root}"
  expect_status 0 "clean tree"
  expect_output "layers: 5 files, 3 BUILD files, no violation" "clean tree"
  run_checker "${root}" --print-graph
  expect_output "messaging -> base, database" "print graph"
  expect_output "third_party:sqlite3 -> database" "print graph"
}

test_include_of_higher_folder_fails() {
  local root="${TEST_TMPDIR}/include"
  make_tree "${root}"
  printf '#include "base/status.h"\n#include "messaging/consumer.h"\n' >"${root}/database/query.h"
  run_checker "${root}"
  expect_status 1 "include of a higher folder"
  expect_output "database/query.h:2: 'database' may not include \"messaging/consumer.h\" (bazel/layers.bzl: database may use base)" \
    "include of a higher folder"
  # messaging uses database, so the include also closes a cycle (check e).
  expect_output "database/query.h:2: cycle between folders: database -> messaging -> database" \
    "include of a higher folder"
  expect_output "layers: 2 violation(s)" "include of a higher folder"
}

test_proto_import_of_higher_folder_fails() {
  local root="${TEST_TMPDIR}/import"
  make_tree "${root}"
  printf 'syntax = "proto3";\nimport "web/page.proto";\n' >"${root}/messaging/pipeline/page.proto"
  run_checker "${root}"
  expect_status 1 "proto import of a sibling folder"
  expect_output "messaging/pipeline/page.proto:2: 'messaging' may not import \"web/page.proto\"" \
    "proto import of a sibling folder"
}

test_angle_include_of_library_fails() {
  local root="${TEST_TMPDIR}/library"
  make_tree "${root}"
  printf '#include <string>\n#include <librdkafka/rdkafka.h>\n' >"${root}/database/queue.cc"
  # sqlite3.h is an exact name: sqlite3.hpp is not it, sqlite3.h is.
  printf '#include <sqlite3.hpp>\n#include <sqlite3.h>\n' >"${root}/web/cache.cc"
  run_checker "${root}"
  expect_status 1 "angle include of a library"
  expect_output "database/queue.cc:2: 'database' may not include <librdkafka/rdkafka.h>: rdkafka belongs to messaging" \
    "angle include of a library"
  expect_output "web/cache.cc:2: 'web' may not include <sqlite3.h>: sqlite3 belongs to database" \
    "angle include of an exact header"
  expect_no_output "web/cache.cc:1:" "angle include of an exact header"
}

test_build_dep_on_forbidden_folder_fails() {
  local root="${TEST_TMPDIR}/build_dep"
  make_tree "${root}"
  cat >"${root}/web/BUILD" <<'EOF'
cc_library(
    name = "server",
    hdrs = ["server.h"],
    deps = ["//base:status"] + [
        "//messaging:consumer",
    ],
)
EOF
  run_checker "${root}"
  expect_status 1 "BUILD dep on a forbidden folder"
  expect_output "web/BUILD:5: 'web' may not depend on //messaging:consumer (bazel/layers.bzl: web may use base)" \
    "BUILD dep on a forbidden folder"
}

test_build_dep_on_forbidden_library_fails() {
  local root="${TEST_TMPDIR}/build_library"
  make_tree "${root}"
  cat >"${root}/messaging/BUILD" <<'EOF'
cc_library(
    name = "consumer",
    srcs = ["consumer.cc"],
    deps = [
        "//third_party:rdkafka",
        "//third_party:sqlite3",
    ],
)
EOF
  run_checker "${root}"
  expect_status 1 "BUILD dep on a forbidden library"
  expect_output "messaging/BUILD:6: 'messaging' may not use //third_party:sqlite3: sqlite3 belongs to database" \
    "BUILD dep on a forbidden library"
  expect_no_output "messaging/BUILD:5:" "BUILD dep on an allowed library"
}

test_visibility_is_not_a_dep() {
  local root="${TEST_TMPDIR}/visibility"
  make_tree "${root}"
  cat >"${root}/base/BUILD" <<'EOF'
package(default_visibility = ["//messaging:__subpackages__"])

cc_library(
    name = "status",
    hdrs = ["status.h"],
    visibility = ["//web:__pkg__", "//messaging/pipeline:__pkg__"],
)
EOF
  run_checker "${root}"
  expect_status 0 "visibility naming a higher folder"
}

test_cycle_in_layers_fails() {
  local root="${TEST_TMPDIR}/layers_cycle"
  make_tree "${root}"
  sed -i 's/"base": \[\],/"base": ["messaging"],/' "${root}/bazel/layers.bzl"
  sed -i 's/"web": \["base"\],/"web": ["base", "nosuch"],/' "${root}/bazel/layers.bzl"
  run_checker "${root}" --write-readme
  expect_status 1 "cycle in LAYERS"
  expect_output "bazel/layers.bzl:4: cycle in LAYERS: base -> messaging -> base" "cycle in LAYERS"
  expect_output "bazel/layers.bzl:6: LAYERS['web'] names 'nosuch', which is not a key of LAYERS" \
    "unknown folder in LAYERS"
}

test_cycle_in_code_fails() {
  local root="${TEST_TMPDIR}/code_cycle"
  make_tree "${root}"
  echo '#include "database/db.h"' >"${root}/base/uses_db.h"
  run_checker "${root}"
  expect_status 1 "cycle in the code"
  expect_output "base/uses_db.h:1: 'base' may not include \"database/db.h\"" "cycle in the code"
  expect_output "base/uses_db.h:1: cycle between folders: base -> database -> base (base -> database: base/uses_db.h:1; database -> base: database/BUILD:5)" \
    "cycle in the code"
}

test_folder_missing_from_layers_fails() {
  local root="${TEST_TMPDIR}/missing_folder"
  make_tree "${root}"
  mkdir -p "${root}/gateway/http"
  echo '#include "base/status.h"' >"${root}/gateway/http/handler.h"
  run_checker "${root}"
  expect_status 1 "folder missing from LAYERS"
  expect_output "gateway/http/handler.h:1: folder 'gateway' is not in bazel/layers.bzl" \
    "folder missing from LAYERS"
}

test_readme_graph_out_of_date_fails() {
  local root="${TEST_TMPDIR}/readme"
  make_tree "${root}"
  sed -i 's/"web": \["base"\],/"web": ["base", "database"],/' "${root}/bazel/layers.bzl"
  run_checker "${root}"
  expect_status 1 "README graph out of date"
  expect_output "README.md:5: the Layout graph is out of date; run python3 tools/layering/check_layers.py --write-readme" \
    "README graph out of date"
  run_checker "${root}" --write-readme
  expect_status 0 "--write-readme"
  expect_output "no violation" "--write-readme"
  grep -qF "web       -> base, database" "${root}/README.md" || fail "--write-readme: README not updated"
  grep -qF "The end." "${root}/README.md" || fail "--write-readme: README's text after the block lost"

  # Without the markers, the check fails and --write-readme refuses.
  sed -i '/<!-- layers:/d' "${root}/README.md"
  run_checker "${root}"
  expect_status 1 "README without markers"
  expect_output "README.md:1: the Layout graph is missing: add one line '<!-- layers: begin -->'" \
    "README without markers"
  run_checker "${root}" --write-readme
  expect_status 1 "--write-readme without markers"
  expect_output "README.md:1: cannot write the Layout graph" "--write-readme without markers"
}

test_real_layers_parse_and_are_acyclic() {
  local root="${TEST_TMPDIR}/real"
  rm -rf "${root}"
  mkdir -p "${root}"
  printf '%s\n' '<!-- layers: begin -->' '<!-- layers: end -->' >"${root}/README.md"
  run_checker "${root}" --layers "${REAL_LAYERS}" --write-readme
  expect_status 0 "the real bazel/layers.bzl"
  expect_output "layers: 0 files, 0 BUILD files, no violation" "the real bazel/layers.bzl"
}

test_clean_tree_passes
test_include_of_higher_folder_fails
test_proto_import_of_higher_folder_fails
test_angle_include_of_library_fails
test_build_dep_on_forbidden_folder_fails
test_build_dep_on_forbidden_library_fails
test_visibility_is_not_a_dep
test_cycle_in_layers_fails
test_cycle_in_code_fails
test_folder_missing_from_layers_fails
test_readme_graph_out_of_date_fails
test_real_layers_parse_and_are_acyclic
echo "PASS: check_layers_test"
