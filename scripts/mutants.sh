#!/usr/bin/env bash
# Mutation testing with cargo-mutants over the rules (src/protocol) and the models' properties:
# every mutant must make `cargo test --release --lib --test catalogue` fail (the unit tests, the
# models' own tests and the CI catalogue with its expected verdicts). Results go to mutants.out/
# (caught.txt, missed.txt, timeout.txt, unviable.txt); docs/verification.md records the score
# and explains each survivor. Long: about 2 minutes a mutant on the 2-core machine, some 350
# mutants in all, so a command, not a CI step. Pass files (globs) to run a part:
#   bash scripts/mutants.sh src/protocol/update.rs
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=('src/protocol/*.rs' src/model/replication/properties.rs src/model/single_shard.rs)
fi
args=()
for f in "${files[@]}"; do args+=(--file "$f"); done
cargo mutants --no-shuffle --profile release "${args[@]}" -- --lib --test catalogue
