#!/usr/bin/env bash
# Records the test suite's UMD-style flows: runs the test files below with XE_EMU_RECORD_DIR
# set, so that every device they create without an explicit `record` writes its trace to
# <dir>/<pid>-<n>.xetrace, then checks that every trace decodes; with --replay, also replays
# every trace on a fresh device (xe-emu replay) and fails on any divergence. Usage:
#   scripts/record-suite.sh [--replay] [dir]   (npm run record-suite; default dir .cache/suite-traces)
# The folder is emptied first. Files that build an in-process kernel instead of a worker
# device (exec, vm_bind_ops, ...) record nothing and are not listed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
replay=false
if [[ "${1:-}" == --replay ]]; then
  replay=true
  shift
fi
dir="$(realpath -m "${1:-$root/.cache/suite-traces}")"

# Flows a user-mode driver or IGT test would run: queries, BOs and mappings, VMs and binds,
# exec queues, EXEC with syncobjs and user fences, syncobj and user-fence waits, PRIME.
FLOWS=(flows igt libdrm exec_worker vm_bind_sync vm_bind_cases syncobj ufence exec_queue bo mmap query vm)

cd "$root"
npm run --silent build
rm -rf "$dir"
mkdir -p "$dir"
files=()
for f in "${FLOWS[@]}"; do files+=("dist/test/$f.test.js"); done
# One line per test file and the summary (tap's own reporters draw progress for a terminal).
XE_EMU_RECORD_DIR="$dir" npx tap --disable-coverage --reporter=tap "${files[@]}" | grep -E '^(not )?ok |^# \{'

count=0
for trace in "$dir"/*.xetrace; do
  node dist/src/cli.js decode "$trace" >/dev/null
  count=$((count + 1))
done
echo "record-suite: $count traces in $dir ($(du -sh "$dir" | cut -f1)), each decodes"
$replay || exit 0

# xe-emu replay exits 1 on a divergence (and prints it), 2 on an unreadable trace.
failed=0
for trace in "$dir"/*.xetrace; do
  node dist/src/cli.js replay --quiet "$trace" || failed=$((failed + 1))
done
echo "record-suite: $count traces replayed, $failed with a divergence or an error"
[[ $failed -eq 0 ]]
