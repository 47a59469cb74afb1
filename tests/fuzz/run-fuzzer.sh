#!/bin/sh
# Runs one libFuzzer target for a bounded time. New inputs go to a scratch directory so the seed
# corpus in the source tree is only read, never written.
set -eu
target="$1"
seconds="$2"
seeds="$3"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "$scratch" "$seeds"
