#!/usr/bin/env bash
# The GPU checks of issue 4 as one prepared run, for a session lent a CUDA machine
# (an estimated 6-7 minutes on an H200 with the pretrain and sliding steps; not yet timed on one).
# The device image has torch, transformers, accelerate, pandas, pyarrow, scikit-learn, typer and rich but not
# SQLModel/Alembic: training still writes complete run folders without them (the registry import is optional).
#   run(command="PYTHONPATH=. PYTHONUNBUFFERED=1 bash bench/gpu_check.sh", timeout_s=480)
# Output lands in $OUT (or ./gpu_check_out): device.txt, gpu_bench.md, trainer_gpu.txt, train_gpu.txt,
# pretrain_gpu.md, sliding_gpu.md.
# SMOKE=1 runs the same steps at toy sizes on whatever device there is (to check this script on a CPU machine).
set -uo pipefail
if [ "${SMOKE:-0}" = 1 ]; then gpu_args="--smoke"; n=300; frac=0.05; pre_args="--smoke"; slide_args="--smoke"; else gpu_args="--n 20000 --batch 128"; n=20000; frac=1; pre_args="--gpu --steps 200"; slide_args="--device cuda"; fi
out="${OUT:-gpu_check_out}"
mkdir -p "$out"
py="${PYTHON:-python3}"
export PYTHONPATH="${PYTHONPATH:-.}"

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$py" -c "import torch, transformers, accelerate; print('torch', torch.__version__, 'cuda', torch.version.cuda); \
print('transformers', transformers.__version__, 'accelerate', accelerate.__version__)" 2>&1
} | tee "$out/device.txt"

# 1. BERT-base (12 x 768, DNABERT-6 vocab) at 101 bp in bf16: samples/s, peak memory, MFU (full and frozen).
timeout 240 "$py" bench/gpu.py $gpu_args 2>&1 | tee "$out/gpu_bench.md"

# 2. dnactx's trainer vs transformers.Trainer vs a bare loop, every side on the GPU in bf16.
timeout 180 "$py" bench/trainer.py --n "$n" --repeats 3 --precision bf16 2>&1 | tee "$out/trainer_gpu.txt"

# 3. The CLI end to end on the GPU: prepare the bundled example, one dnabert6-tiny full fine-tune in bf16.
home="$(mktemp -d)"
{
  "$py" -m dnactx --home "$home" prepare --genome examples/tair10_chr1_slice.fa.gz \
    --calls examples/simulated_methylome.CX_report.txt.gz --out "$home/data" --window 200 --block-size 5000 \
    --val-frac 0.15 --test-frac 0.15 &&
  timeout 120 "$py" -m dnactx --home "$home" train --data "$home/data/dataset.parquet" --model dnabert6-tiny \
    --size 100 --mode both --finetune full --epochs 2 --precision bf16 --train-fraction "$frac" --json &&
  cat "$home"/*/config.json | grep -E '"device"|"precision"|"torch"'
} 2>&1 | tee "$out/train_gpu.txt"

# 4. dnactx pretrain vs transformers.Trainer + DataCollatorForLanguageModeling (same span masking) on the GPU:
#    BERT 12 x 768, 512 bp windows of 6-mers, batch 64, bf16: tokens/s, MFU (6 N tokens/s over the bf16 peak),
#    held-out masked accuracy at equal wall time, peak GPU memory.
timeout 300 "$py" bench/pretrain.py $pre_args --precision bf16 2>&1 | tee "$out/pretrain_gpu.md"

# 5. The cnn's sliding path (issue 21) on the GPU: features equal to the per-window encode (max difference) and the
#    ratio of sites/s at 201- and 401-bp inputs, for predict's 64 kb stretch and a 1 Mb one (is SLIDE_BP too small
#    for a GPU?), with peak GPU memory.
{
  timeout 60 "$py" bench/sliding.py $slide_args
  [ "${SMOKE:-0}" = 1 ] || timeout 60 "$py" bench/sliding.py $slide_args --bp 1048576
} 2>&1 | tee "$out/sliding_gpu.md"
