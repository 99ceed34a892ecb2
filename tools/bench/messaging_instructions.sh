#!/bin/bash
# Typed against raw in instructions per record, counted by valgrind's
# callgrind on a fixed workload: messaging_bench's alternating slices (every
# thread of the client process; the mock broker runs natively in its own
# process), each slice's count dumped on its own. Unlike the clocks, the
# count hardly moves with what else runs on the machine.
#
#   bash tools/bench/messaging_instructions.sh [messaging_bench flags]
#   MESSAGING_BENCH=/tmp/old_messaging_bench bash tools/bench/...  # a build of
#                                           # another commit, for before/after
#
# Prints each pair's instructions per record, raw and typed, and raw/typed
# (what typed reaches of raw's throughput per instruction), with the median
# and range of the pairs. Defaults: 10 pairs of 5,000 records; valgrind runs
# the client some 50 times slower.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "needs valgrind (tools/setup.sh)"; exit 1; }
bench=${MESSAGING_BENCH:-}
if [[ -z "$bench" ]]; then
  bazel build -c opt //tools/bench:messaging_bench 2>/dev/null
  bench=bazel-bin/tools/bench/messaging_bench
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
  --trace-children=no "$bench" \
  --pairs=10 --messages=5000 --settle_seconds=20 "$@" >"$out/log" 2>&1; then
  tail -20 "$out/log"
  exit 1
fi
python3 - "$out" <<'PY'
import glob, re, statistics, sys
out = sys.argv[1]
n = int(re.search(r"slices of (\d+) messages", open(f"{out}/log").read()).group(1))
counts = {}  # (what, side, pair) -> instructions
for path in glob.glob(f"{out}/cg*"):
    text = open(path, errors="replace").read()
    label = re.search(r"^desc: Trigger: Client Request: (\w+) (\w+) (\d+)$", text, re.M)
    total = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
    if label and total:
        counts[(label.group(1), label.group(2), int(label.group(3)))] = int(total.group(1))
print(f"messaging_instructions: instructions per record (callgrind, {n} records per slice)")
for what, target in (("produce", 0.95), ("consume", 0.90)):
    pairs = sorted(p for (w, s, p) in counts if w == what and s == "raw"
                   and (w, "typed", p) in counts)
    if not pairs:
        continue
    ratios = []
    for p in pairs:
        raw = counts[(what, "raw", p)] / n
        typed = counts[(what, "typed", p)] / n
        ratios.append(raw / typed)
        print(f"  {what} pair {p}: raw {raw:,.0f} typed {typed:,.0f} (raw/typed {raw / typed:.3f})")
    print(f"{what} per instruction: typed/raw median of {len(ratios)} pair ratios "
          f"{statistics.median(ratios):.3f} (range {min(ratios):.3f}..{max(ratios):.3f}) "
          f"target >= {target:.2f}")
PY
