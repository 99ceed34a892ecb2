#!/usr/bin/env bash
# Fuzzes every herald_fuzz_test target (bazel/herald.bzl) with libFuzzer.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]
#
# Builds the `<name>_fuzzer` binaries with clang, libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer (`--config=fuzz`, .bazelrc) in a Bazel
# output base of its own, then runs each for SECONDS (default 60) over its
# seed corpus in the repository. TARGETs (e.g. //gateway:requests_fuzzer)
# narrow the run; by default every target tagged `fuzzer` runs.
#
# A libFuzzer dictionary next to a corpus directory (<corpus>.dict) is used.
# Inputs that find new coverage go to $HERALD_FUZZ_DIR/<target>/corpus
# (default /tmp/herald-fuzz), not into the repository; a crash, leak, timeout
# or failed FUZZ_CHECK saves its input under $HERALD_FUZZ_DIR/<target>/ and
# fails the script. To reproduce one under gcc, replay it with the target's
# test (which runs the seed corpus too):
#
#   bazel run //gateway:requests_fuzz_test -- "$PWD/crash-..."
#
# and, once fixed, add the input to the target's corpus directory.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
work="${HERALD_FUZZ_DIR:-/tmp/herald-fuzz}"
# One output base per checkout, apart from the gcc build's.
output_base="${HERALD_FUZZ_OUTPUT_BASE:-${XDG_CACHE_HOME:-$HOME/.cache}/herald-fuzz/$(pwd -P | md5sum | cut -c1-12)}"
bazel_fuzz() { bazel --output_base="$output_base" "$@"; }
mkdir -p "$work"
trap 'bazel_fuzz shutdown >/dev/null 2>&1 || true' EXIT

# Every package but the bazel-* convenience symlinks, which this output base
# does not know as its own and would descend into.
scope="//:all"
for dir in */; do
  dir="${dir%/}"
  [ -L "$dir" ] || scope="$scope + //$dir/..."
done

# label -> corpus directory, from the tags herald_fuzz_test sets.
if ! rules="$(bazel_fuzz query --output=build "attr(tags, '\bfuzzer\b', $scope)" 2>"$work/query.log")"; then
  cat "$work/query.log" >&2
  echo "fuzz: bazel query failed" >&2
  exit 1
fi
declare -A corpus_of
while read -r label corpus; do
  corpus_of["$label"]="$corpus"
done < <(ROOT="$(pwd -P)" python3 -c '
import os, re, sys
root = os.environ["ROOT"]
for rule in sys.stdin.read().split("\n\n"):
    name = re.search(r"^\s*name = \"([^\"]+)\"", rule, re.M)
    build = re.search(r"^# (\S+?)/BUILD(?:\.bazel)?:", rule, re.M)
    corpus = re.search(r"\"fuzz_corpus=([^\"]+)\"", rule)
    if name and build and corpus:
        where = os.path.relpath(build.group(1), root)
        package = "" if where == "." else where
        print(f"//{package}:{name.group(1)} {corpus.group(1)}")
' <<<"$rules")

if [ $# -gt 0 ]; then targets=("$@"); else targets=("${!corpus_of[@]}"); fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz target found" >&2
  exit 1
fi
IFS=$'\n' targets=($(sort <<<"${targets[*]}")); unset IFS

echo "== fuzz: building ${#targets[@]} targets with clang (--config=fuzz)"
set +e
bazel_fuzz build --config=fuzz "${targets[@]}" 2>&1 |
  grep -vE '^\[[0-9,]+ / [0-9,]+\]|^(Loading|Analyzing|INFO: From)|Cannot export local symbol'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "fuzz: the clang build failed" >&2
  exit "$status"
fi
bin="$(bazel_fuzz info --config=fuzz bazel-bin 2>/dev/null)"

failed=()
summary=()
for label in "${targets[@]}"; do
  corpus="${corpus_of[$label]:-}"
  if [ -z "$corpus" ] || [ ! -d "$corpus" ]; then
    echo "fuzz: $label has no corpus directory ('$corpus')" >&2
    exit 1
  fi
  package="${label#//}"; package="${package%%:*}"
  name="${label##*:}"
  binary="$bin/${package:+$package/}$name"
  dir="$work/${package//\//_}_$name"
  mkdir -p "$dir/corpus"
  echo "== fuzz: $label for ${seconds}s (seeds: $corpus/)"
  options=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048
    -print_final_stats=1 -artifact_prefix="$dir/")
  # A dictionary of tokens (JSON syntax, field names) next to the corpus.
  if [ -f "$corpus.dict" ]; then options+=(-dict="$corpus.dict"); fi
  set +e
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$binary" "${options[@]}" "$dir/corpus" "$corpus" >"$dir/log" 2>&1
  status=$?
  set -e
  runs=$(grep -oP 'stat::number_of_executed_units: \K[0-9]+' "$dir/log" || echo "?")
  kept=$(find "$dir/corpus" -type f | wc -l)
  if [ $status -ne 0 ]; then
    tail -n 40 "$dir/log"
    input="$(ls -t "$dir" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | head -n 1 || true)"
    failed+=("$label")
    summary+=("$(printf '%-44s %10s runs  FAILED: %s' "$label" "$runs" "${input:+$dir/$input}")")
    [ -z "$input" ] || summary+=("    replay it: bazel run ${label%_fuzzer}_fuzz_test -- $dir/$input")
  else
    summary+=("$(printf '%-44s %10s runs  ok, %d inputs kept in %s/corpus' "$label" "$runs" "$kept" "$dir")")
  fi
done

echo "== fuzz summary (${seconds}s each)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
