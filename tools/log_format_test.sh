#!/bin/bash
# log.format=json: a worker's log lines are JSON objects, one a line, and
# nothing else reaches stderr; the text form shows glog's lines.
set -u
cd "$TEST_TMPDIR"
crm="$TEST_SRCDIR/herald/workers/crm"
failed=0

run() {  # runs crm until it has logged that it subscribed, then stops it
  "$crm" --brokers=127.0.0.1:1 --db="sqlite:$TEST_TMPDIR/crm-$1.db" \
    --admin_port=0 2>"$1.log" &
  local pid=$!
  for _ in $(seq 1 100); do
    grep -q "subscribed" "$1.log" && break
    sleep 0.1
  done
  kill -TERM "$pid"; wait "$pid"
}

HERALD_LOG_FORMAT=json run json
python3 - json.log <<'PY' || failed=1
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no log lines"
for line in lines:
    entry = json.loads(line)   # every line is one JSON object
    for field in ("time", "level", "thread", "file", "line", "message"):
        assert field in entry, (field, line)
assert any("subscribed" in json.loads(l)["message"] for l in lines)
print("ok json:", len(lines), "lines")
PY
run text
grep -Eq '^I[0-9]{8} [0-9:.]+ +[0-9]+ [a-z_]+\.cc:[0-9]+\] ' text.log \
  || { echo "FAIL text: no glog line"; cat text.log; failed=1; }
grep -q '^{' text.log && { echo "FAIL text: JSON lines"; failed=1; }
exit $failed
