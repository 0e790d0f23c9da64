#!/usr/bin/env bash
# Tokenizer encoding speed (BENCHMARKS.md): 1 MB of English and 1 MB without any whitespace
# through `rgemma tokenize --stats`. The English text is Debian's license texts
# (/usr/share/common-licenses) repeated to 1 MB; the second is the same text with all whitespace
# removed, so that Gemma's tokenizer (no pre-tokenizer) sees it as a single 1 MB word.
# Usage: scripts/bench-tokenizer.sh TOKENIZER [REPEAT]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tokenizer=${1:?usage: scripts/bench-tokenizer.sh TOKENIZER [REPEAT]}
repeat=${2:-8}
dir="$root/target/bench"
mkdir -p "$dir"
if [ ! -f "$dir/english-1mb.txt" ]; then
  cat /usr/share/common-licenses/* > "$dir/licenses.txt"
  while [ "$(wc -c < "$dir/english-1mb.txt" 2>/dev/null || echo 0)" -lt 1000000 ]; do
    cat "$dir/licenses.txt" >> "$dir/english-1mb.txt"
  done
  head -c 1000000 "$dir/english-1mb.txt" > "$dir/tmp" && mv "$dir/tmp" "$dir/english-1mb.txt"
  tr -d ' \t\n\r\f\v' < "$dir/licenses.txt" > "$dir/nospace.txt"
  : > "$dir/nospace-1mb.txt"
  while [ "$(wc -c < "$dir/nospace-1mb.txt")" -lt 1000000 ]; do cat "$dir/nospace.txt" >> "$dir/nospace-1mb.txt"; done
  head -c 1000000 "$dir/nospace-1mb.txt" > "$dir/tmp" && mv "$dir/tmp" "$dir/nospace-1mb.txt"
fi
for text in english-1mb nospace-1mb; do
  echo "== $text"
  "$root/rgemma" tokenize --tokenizer "$tokenizer" --stats --repeat "$repeat" < "$dir/$text.txt" 2>&1 >/dev/null \
    | grep -v '^WARNING: Using incubator'
done
