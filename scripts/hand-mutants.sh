#!/usr/bin/env bash
# The hand-made mutants of docs/verification.md: four bugs the checks must catch. Each is applied
# to a scratch worktree of HEAD, then `cargo test --release --lib --test catalogue` must FAIL
# (the mutant is killed); the script names the tests that killed it and exits 1 if one survives.
# Long (a release build per mutant): a command, not a CI step.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=${ESOCC_MUTANTS_DIR:-/tmp/esocc-hand-mutants}
rm -rf "$scratch"
git worktree prune
git worktree add -q --detach "$scratch" HEAD
trap 'git -C "$root" worktree remove --force "$scratch"' EXIT

# name | file | original text | mutated text
mutants=(
  "a conflict burns a _seq_no|src/model/replication/step.rs|            Err(conflict) => {|            Err(conflict) => { copy.log.push(None);"
  "if_seq_no matches a tombstone (#50526)|src/protocol/primary.rs|Condition::IfSeqNo(required) if live.map|Condition::IfSeqNo(required) if current.map"
  "the global checkpoint skips a copy whose checkpoint is unknown|src/protocol/checkpoint.rs|            None => return previous,|            None => continue,"
  "the update API retries once too often|src/protocol/update.rs|    attempts <= retry_on_conflict|    attempts <= retry_on_conflict + 1"
)

survivors=0
for mutant in "${mutants[@]}"; do
  IFS='|' read -r name file original mutated <<<"$mutant"
  git -C "$scratch" checkout -q -- .
  python3 - "$scratch/$file" "$original" "$mutated" <<'PY'
import sys
path, original, mutated = sys.argv[1:]
text = open(path).read()
assert text.count(original) == 1, f"{path}: the original text must occur once: {original!r}"
open(path, "w").write(text.replace(original, mutated))
PY
  log="$scratch/mutant.log"
  if (cd "$scratch" && cargo test --release --lib --test catalogue >"$log" 2>&1); then
    echo "SURVIVED: $name ($file)"
    survivors=$((survivors + 1))
  else
    killers=$(grep -E '^test .* FAILED$|MISMATCH|expected .*, got' "$log" | sed 's/^/    /' | head -8)
    echo "killed: $name ($file) by:"
    echo "${killers:-    (the build failed: see $log)}"
  fi
done
exit $((survivors > 0))
