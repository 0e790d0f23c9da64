#!/usr/bin/env bash
# The perplexity change under quantization: converts a model (default models/demo) to each GGUF
# weight type with `rgemma quantize` and scores the demo's held-out texts (scripts/demo-data.sh)
# with `rgemma perplexity`, against the model as stored. Prints a Markdown table.
#
#   scripts/quantized-perplexity.sh [MODEL_DIR]     (work files in $WORK or a temp dir)
#
# Environment: CONTEXT (default 128), TYPES (default "f32 f16 bf16 q8_0 q4_0"), RGEMMA.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model=${1:-$root/models/demo}
work=${WORK:-$(mktemp -d)}
CONTEXT=${CONTEXT:-128}
TYPES=${TYPES:-f32 f16 bf16 q8_0 q4_0}
RGEMMA=${RGEMMA:-$root/rgemma}
echo "work directory: $work" >&2

"$root/scripts/demo-data.sh" "$work"
texts="moby-heldout sotu-heldout"

field() { # json name
  sed -E 's/.*"'"$2"'":([-0-9.eE+]+).*/\1/' <<<"$1"
}

declare -A base
row() { # label model
  local label=$1 path=$2 line bpb ppl raw cells=""
  for t in $texts; do
    line=$("$RGEMMA" perplexity --model "$path" --file "$work/$t.txt" --context "$CONTEXT" 2>"$work/perplexity.log") \
      || { cat "$work/perplexity.log" >&2; exit 1; }
    bpb=$(awk -v v="$(field "$line" bits_per_byte)" 'BEGIN { printf "%.4f", v }')
    raw=$(field "$line" perplexity)
    ppl=$(awk -v v="$raw" 'BEGIN { printf "%.3f", v }')
    if [ -z "${base[$t]:-}" ]; then
      base[$t]=$raw
      cells+=" | $bpb | $ppl | —"
    else
      cells+=" | $bpb | $ppl | $(awk -v a="$raw" -v b="${base[$t]}" 'BEGIN { printf "%+.3f %%", 100 * (a / b - 1) }')"
    fi
  done
  echo "| $label$cells |"
}

echo "| weights | Moby-Dick bits/byte | perplexity | change | State of the Union bits/byte | perplexity | change |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
row "as stored ($(basename "$model"))" "$model"
for type in $TYPES; do
  "$RGEMMA" quantize --model "$model" --type "$type" --out "$work/model-$type.gguf" >/dev/null 2>"$work/quantize.log" \
    || { cat "$work/quantize.log" >&2; exit 1; }
  row "$type ($(du -k "$work/model-$type.gguf" | cut -f1) kB)" "$work/model-$type.gguf"
done
