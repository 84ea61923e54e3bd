#!/usr/bin/env bash
# What a browser downloads of the site's code: each file cargo-leptos built
# under SITE_ROOT/pkg, raw, gzipped (-9, as made here) and as the Brotli
# copy a `--precompress` build wrote beside it. Meaningful on a release
# build:
#
#   cargo leptos build --release --precompress --frontend-only
#   bench/site-size.sh [SITE_ROOT]
#
# WASM_BUDGET_KB, when set, fails the run if the WASM's compressed size (the
# Brotli copy if any, else gzip) is over it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
site="${1:-target/site}"
printf '%-44s %10s %10s %10s\n' file raw gzip brotli
over=0
for f in "$site"/pkg/*; do
  case "$f" in *.gz|*.br) continue ;; esac
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  br=$([ -f "$f.br" ] && stat -c %s "$f.br" || echo -)
  printf '%-44s %10s %10s %10s\n' "$(basename "$f")" "$raw" "$gz" "$br"
  if [ -n "${WASM_BUDGET_KB:-}" ] && [[ "$f" == *.wasm ]]; then
    sent=$([ "$br" = - ] && echo "$gz" || echo "$br")
    if [ "$sent" -gt $((WASM_BUDGET_KB * 1024)) ]; then
      echo "over budget: $(basename "$f") sends $sent bytes, budget ${WASM_BUDGET_KB} KiB" >&2
      over=1
    fi
  fi
done
exit "$over"
