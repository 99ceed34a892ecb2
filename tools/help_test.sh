#!/bin/bash
# Every Herald binary answers --help with its usage line, its flags (each
# with its meaning) and exit code 0, without starting anything (no broker,
# no database file, no port).
set -u
cd "$TEST_TMPDIR"
root="$TEST_SRCDIR/herald"
failed=0

# binary, text its usage line starts with, a flag it must list, a settings
# key it must list ("-" when the binary reads no settings).
check() {
  local binary="$1" usage="$2" flag="$3" key="$4"
  local out rc
  out=$("$root/$binary" --help 2>&1)
  rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "FAIL $binary --help: exit code $rc"; failed=1
  fi
  if [[ "$(head -n1 <<<"$out")" != "usage: $usage"* ]]; then
    echo "FAIL $binary --help: first line is '$(head -n1 <<<"$out")'"; failed=1
  fi
  if ! grep -q -- "^  --$flag[= ]" <<<"$out"; then
    echo "FAIL $binary --help: no --$flag"; failed=1
  fi
  if [[ "$key" != "-" ]] && ! grep -q -- "^  $key = " <<<"$out"; then
    echo "FAIL $binary --help: no setting $key"; failed=1
  fi
  if grep -q "flagfile\|SetProgramUsageMessage" <<<"$out"; then
    echo "FAIL $binary --help: lists Abseil's own flags"; failed=1
  fi
  echo "ok $binary"
}

check gateway/gateway "gateway " http_port auth.enabled
check workers/email "email " smtp_url smtp_url
check workers/analytics "analytics " admin_port consumer.batch_size
check workers/crm "crm " db consumer.max_attempts
check workers/realtime/realtime "realtime " http_port realtime.token_secret
check tools/heraldctl/heraldctl "heraldctl " brokers db
check tools/dev_broker "dev_broker " partitions -
check tools/bench/messaging_bench "messaging_bench " pairs -
check tools/up/up "up " keep_going -

# The defaults shown are the binary's own, not the components'.
"$root/workers/email" --help | grep -q "^  consumer.group_id = email-worker-group " \
  || { echo "FAIL email --help: not its own consumer group"; failed=1; }
# heraldctl lists its commands.
for command in "dlq replay" "outbox status" "topics ensure" "groups lag"; do
  "$root/tools/heraldctl/heraldctl" --help | grep -q "^  $command " \
    || { echo "FAIL heraldctl --help: no $command"; failed=1; }
done
# A mistyped flag is still refused.
if "$root/gateway/gateway" --no_such_flag >/dev/null 2>&1; then
  echo "FAIL gateway accepted --no_such_flag"; failed=1
fi
exit $failed
