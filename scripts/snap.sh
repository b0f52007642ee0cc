#!/usr/bin/env bash
# Snapshot for a GPU run: HEAD plus the named working-tree files, in .snap/ (git-excluded,
# carried to the device), so that other engineers' unfinished edits do not travel.
# Usage: bash scripts/snap.sh [FILE...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf .snap && mkdir .snap
git archive HEAD | tar -x -C .snap
for f in "$@"; do mkdir -p ".snap/$(dirname "$f")" && cp "$f" ".snap/$f"; done
echo "snapshot: $(git rev-parse --short HEAD) + $# files"
