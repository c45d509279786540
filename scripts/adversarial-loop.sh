#!/usr/bin/env bash
# Runs the adversarial suite N times in a row (default 20) and prints pass/fail counts.
#   scripts/adversarial-loop.sh 20            # or: npm run test:adversarial -- 20
# Each run gets a fresh seed (printed); a failed run's seed replays its kill points:
#   ADVERSARIAL_SEED=<seed> npx vitest run test/integration/adversarial
# Logs: $ADVERSARIAL_LOG_DIR (default /tmp/tiercast-adversarial-loop)/run-<i>.log
set -u
runs="${1:-20}"
files="${ADVERSARIAL_FILES:-test/integration/adversarial.test.ts test/integration/adversarial-redelivery.test.ts}"
logs="${ADVERSARIAL_LOG_DIR:-/tmp/tiercast-adversarial-loop}"
mkdir -p "$logs"
cd "$(dirname "$0")/.."
pass=0
fail=0
failed_seeds=()
for i in $(seq 1 "$runs"); do
  seed="${ADVERSARIAL_SEED_BASE:-$RANDOM$RANDOM}"
  [ -n "${ADVERSARIAL_SEED_BASE:-}" ] && seed=$((ADVERSARIAL_SEED_BASE + i))
  start=$(date +%s)
  # shellcheck disable=SC2086
  if ADVERSARIAL_SEED="$seed" npx vitest run $files >"$logs/run-$i.log" 2>&1; then
    pass=$((pass + 1))
    verdict=pass
  else
    fail=$((fail + 1))
    verdict=FAIL
    failed_seeds+=("$seed")
  fi
  echo "run $i/$runs seed $seed: $verdict in $(($(date +%s) - start)) s (log $logs/run-$i.log)"
done
echo "adversarial suite: $pass passed, $fail failed of $runs runs${failed_seeds[*]:+ (failed seeds: ${failed_seeds[*]})}"
[ "$fail" -eq 0 ]
