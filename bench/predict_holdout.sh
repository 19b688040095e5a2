#!/usr/bin/env bash
# Issue 12's hold-out check on the real data: models trained on chr1 1-1,500,000 only, then `dnactx predict
# --calls` on chr1 1,500,001-2,000,000, which no training, validation or test site came from.
# Usage: bash bench/predict_holdout.sh [OUT]   (default bench/out/holdout; needs ../shared/data)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DATA=$REPO/../shared/data
OUT=${1:-$REPO/bench/out/holdout}
DNACTX=${DNACTX:-dnactx}
[ -f "$DATA/athaliana_chr1_2mb.CGmap.gz" ] || { echo "needs ../shared/data" >&2; exit 2; }
mkdir -p "$OUT"
HOME_DIR=$OUT/home
# prepare on a region: the calls of chr1 up to 1,500,000 (the genome stays whole: windows at the edge see real bases)
gzip -dc "$DATA/athaliana_chr1_2mb.CGmap.gz" | awk -F'\t' '$1=="chr1" && $3<=1500000' | gzip -1 > "$OUT/first.CGmap.gz"
printf 'chr1\t1500000\t2000000\n' > "$OUT/last.bed"
[ -f "$OUT/data/dataset.parquet" ] || $DNACTX prepare --genome "$DATA/athaliana_tair10_chr1_2mb.fa.gz" \
  --calls "$OUT/first.CGmap.gz" --out "$OUT/data" --window 400 --seed 0
for model in lr cnn; do
  id_file=$OUT/$model.run_id
  extra=(); [ "$model" = cnn ] && extra=(--epochs 4 --patience 2)
  [ -f "$OUT/$model.done" ] || { $DNACTX train --home "$HOME_DIR" --data "$OUT/data/dataset.parquet" --model $model \
      --size 200 --mode both --seed 0 --run-id-file "$id_file" "${extra[@]}" && touch "$OUT/$model.done"; }
  /usr/bin/time -f "$model predict wall %e s, peak RSS %M KB" $DNACTX predict --home "$HOME_DIR" "$(cat "$id_file")" \
    --genome "$DATA/athaliana_tair10_chr1_2mb.fa.gz" --regions "$OUT/last.bed" \
    --calls "$DATA/athaliana_chr1_2mb.CGmap.gz" --out "$OUT/predict-$model" --json > "$OUT/predict-$model.json"
done
# the two models on the same held-out sites, paired by 10 kb block
$DNACTX compare "$OUT/predict-cnn" "$OUT/predict-lr"
$DNACTX compare "$OUT/predict-cnn" "$OUT/predict-lr" --metric auroc
