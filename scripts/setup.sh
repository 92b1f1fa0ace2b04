#!/usr/bin/env bash
# What the tests need on a fresh machine, installed by package name (idempotent; skips what is
# there): Debian's Chromium and ChromeDriver for the browser tests, rustfmt and clippy for the
# lint step, and the official Elasticsearch Python client that tests/rest_clients.rs drives
# against `esocc serve`. scripts/test-all.sh runs it first.
set -euo pipefail

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: chromium and chromedriver are missing; run as root or: apt-get install chromium chromium-driver" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true

if ! python3 -c 'import elasticsearch, sys; sys.exit(0 if elasticsearch.__version__[0] == 8 else 1)' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check 'elasticsearch>=8.15,<9'
fi
