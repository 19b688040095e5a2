#!/usr/bin/env bash
# Issue 18 item 10 / issue 19: does pretraining on the genome help, on the real data? (the commands behind the
# 2026-12-03 "What pretraining bought" section of bench/RESULTS.md; ~45 min on 2 shared cores).
# 1. prepare (--window 200) the 2 Mb slice; a 10% subsample with the same blocks for the fine-tunes (its val/test
#    sites are the same blocks as the full dataset's, checked: same split for every shared site);
# 2. pretrain a BERT 2 × 128 (kmer:6, 256 bp) for 1,000 steps with the full dataset's val/test blocks excluded,
#    and the same config for 1 step at lr 1e-9 as the random-init stand-in (pretrain has no --steps 0);
# 3. train lr, cnn and each LM frozen and lora:8 on the same 8,000 sites (both/50, 1 epoch for the LMs);
# 4. compare the pairs by context; 5. cnn predict --calls --annotation on the whole slice, then the gene metaplot.
# Usage: bash bench/pretrain_evidence.sh [OUT]   (default /tmp/ev; needs ../shared/data)
set -euo pipefail
OUT=${1:-/tmp/ev}
D=$(cd "$(dirname "$0")/../../shared/data" && pwd)
X="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/dnactx"
G=$D/athaliana_tair10_chr1_2mb.fa.gz; C=$D/athaliana_chr1_2mb.CGmap.gz; A=$D/athaliana_tair10_chr1_2mb.gff3.gz
P="--genome $G --calls $C --window 200 --control-chrom L --annotation $A"
$X prepare $P --out "$OUT/ds"
$X prepare $P --out "$OUT/ds10" --fraction 0.1
M="--genome $G --exclude-dataset $OUT/ds --home $OUT/runs --layers 2 --hidden 128 --heads 4 --length 256 --batch-size 16"
$X pretrain $M --out "$OUT/lm" --steps 1000 --eval-every 125 --lr 1e-3
$X pretrain $M --out "$OUT/lm0" --steps 1 --eval-every 1 --lr 1e-9 --name random-init
# On 2026-12-03 the 1,000-step pretrain slowed 6x after step 125 (the lead's test suite on the same 2 cores) and was
# stopped by SIGTERM at step 265 (its checkpoint); the fine-tunes used that checkpoint's weights in lm0's folder
# (same config and tokenizer), i.e. this instead of a finished $OUT/lm:
#   kill -TERM <pretrain pid>; ckpt_to_model "$OUT/lm/checkpoint" "$OUT/lm0" "$OUT/lm265"; the pre_* runs (--name
#   pre-frozen / pre-lora8, --model $OUT/lm265); then the pretrain command with --resume finished the 1,000 steps.
ckpt_to_model() {  # CHECKPOINT_DIR TEMPLATE_MODEL_DIR OUT_DIR
  mkdir -p "$3" && cp "$2"/{config.json,tokenizer_config.json,vocab.txt} "$3"/
  "$(dirname "$X")/python" -c "
import sys
from safetensors import safe_open
from safetensors.torch import save_file
a = safe_open(sys.argv[2] + '/model.safetensors', 'pt'); b = safe_open(sys.argv[1] + '/model.safetensors', 'pt')
save_file({k: b.get_tensor('lm.' + k).contiguous() for k in a.keys()}, sys.argv[3] + '/model.safetensors',
          metadata={'format': 'pt'})" "$1" "$2" "$3"
}
T="$X train --data $OUT/ds10 --size 50 --mode both --max-train 8000 --home $OUT/runs --seed 0 -q"
$T --model lr --name lr --run-id-file "$OUT/id_lr"
$T --model cnn --name cnn --epochs 5 --run-id-file "$OUT/id_cnn"
for lm in lm0 lm; do
  name=$([ "$lm" = lm ] && echo pre1000 || echo rand)
  $T --model "$OUT/$lm" --finetune frozen --epochs 1 --name "$name-frozen" --run-id-file "$OUT/id_${name}_frozen"
  $T --model "$OUT/$lm" --finetune lora:8 --epochs 1 --name "$name-lora8" --run-id-file "$OUT/id_${name}_lora"
done
id() { cat "$OUT/id_$1"; }
for pair in "pre1000_frozen rand_frozen" "pre1000_lora rand_lora" "pre1000_lora lr" "pre1000_lora cnn" "pre1000_frozen lr" "pre1000_frozen cnn"; do
  set -- $pair
  for split in test val; do
    echo "== $split: $1 vs $2"
    $X compare --home "$OUT/runs" "$(id "$1")" "$(id "$2")" --by-context --split "$split"
  done
done
$X predict --home "$OUT/runs" "$(id cnn)" --genome "$G" --calls "$C" --annotation "$A" --out "$OUT/predict-cnn"
$X metaplot "$OUT/predict-cnn" --annotation "$A" --out "$OUT/metaplot-cnn"
# issue 19's metaplot figure (bench/metaplot_cnn_genes.png): a cnn on 100,000 sites of the full dataset, the whole
# slice, then only the dataset's val/test blocks (chr1 100-200 kb, 1.2-1.3, 1.5-1.6, 1.7-1.8 Mb)
$X train --data "$OUT/ds" --size 50 --mode both --home "$OUT/runs_b" --seed 0 -q --model cnn --name cnn-100k \
  --epochs 3 --max-train 100000 --run-id-file "$OUT/id_cnn100k"
$X predict --home "$OUT/runs_b" "$(id cnn100k)" --genome "$G" --calls "$C" --annotation "$A" --out "$OUT/predict-cnn100k"
printf 'chr1\t%d\t%d\n' 100000 200000 1200000 1300000 1500000 1600000 1700000 1800000 > "$OUT/heldout.bed"
$X predict --home "$OUT/runs_b" "$(id cnn100k)" --genome "$G" --calls "$C" --annotation "$A" \
  --regions "$OUT/heldout.bed" --out "$OUT/predict-cnn100k-heldout"
"$(dirname "$X")/python" "$(dirname "$0")/mlm_curve.py" "$OUT/lm0" "$OUT/lm" --png "$(dirname "$0")/mlm_curve.png"
