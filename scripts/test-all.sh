#!/usr/bin/env bash
# Every test esocc has: the unit, integration, catalogue, proptest, stress, REST and browser tests,
# the docs-drift check (docs/invariants.md must equal a fresh `esocc report`), then the loom suite
# (a separate build with `--cfg esocc_loom`, in its own target directory;
# not `--cfg loom`, which also switches tokio into loom mode and breaks axum and reqwest).
set -euo pipefail
cd "$(dirname "$0")/.."

# Install what the tests need (Chromium, ChromeDriver, the Python client); the client test then
# fails instead of skipping when the client is missing.
bash scripts/setup.sh
export ESOCC_REQUIRE_PYTHON_CLIENT=1

cargo test --release --all-targets
cargo test --release --doc

# The generated report of what is proven must be the checked-in one (regenerate: esocc report).
cargo run --release --quiet -- report --check

RUSTFLAGS="--cfg esocc_loom --cfg crossbeam_loom --cfg crossbeam_sanitize" \
  CARGO_TARGET_DIR=target/loom \
  cargo test --release --no-default-features --lib --test 'loom_*' -- --test-threads=2
