#!/usr/bin/env bash
# Regenerate docs/examples/: the terminal output of `lm-eval-mtl demo` (demo-output.txt) and the
# report it writes (report/REPORT.md with its PNGs, 100 dpi).
#
# Run it in the environment where lm-eval-mtl is installed (`pip install -e ".[demo]"`), from any
# folder: the demo runs in a temporary folder, offline, with the tiny model from the usual cache
# ($LM_EVAL_MTL_CACHE, else ~/.cache/lm-eval-mtl; built there on first use). Extra arguments go to
# the demo (e.g. `--limit 8`). The status line that the demo shows on a terminal is written as one
# line per 10 s here (stderr is a file), and the timings are this machine's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/lm-eval-mtl-examples.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cd "$work"
{
    echo "\$ lm-eval-mtl demo${*:+ $*}"
    lm-eval-mtl demo "$@" 2>&1
} > demo-output.txt

rm -rf "$here/report"
mkdir -p "$here/report"
cp lm-eval-mtl-demo/report/REPORT.md "$here/report/REPORT.md"
cp -R lm-eval-mtl-demo/report/plots "$here/report/plots"
cp demo-output.txt "$here/demo-output.txt"
echo "wrote $here/demo-output.txt and $here/report/ (REPORT.md, $(find "$here/report/plots" -name '*.png' | wc -l) PNGs)"
