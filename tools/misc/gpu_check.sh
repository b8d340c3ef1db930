#!/usr/bin/env bash
# The GPU check of mmssd, for a machine with one CUDA GPU:
#
#   bash tools/misc/gpu_check.sh [OUT]          (OUT defaults to work_dirs/gpu_check)
#
# makes the demo data, trains the SSDLite and Faster R-CNN demos for a few hundred
# iterations in fp32 and with fp16=dict(loss_scale='dynamic'), trains the SSDLite once more
# through tools/dist_train.sh (1 process, nccl), evaluates every run (tools/test.py --eval
# bbox), times inference of the fp32 checkpoints (tools/analysis_tools/benchmark.py), and
# prints img/s and mAP next to the CPU figures of docs/benchmarks.md, as a Markdown table to
# paste there. Without CUDA it exits 2 at once with the reason.
#
# Environment: EPOCHS (default 5: about 315 iterations of 16 images on NUM_TRAIN=1000
# images), NUM_VAL (200), WORKERS (loader workers per process, 4), RUNS (default: all of
# ssdlite_fp32 ssdlite_fp16 ssdlite_dist faster_rcnn_fp32 faster_rcnn_fp16), PORT (torchrun).
# Each step writes OUT/<run>/<step>.txt; a failed step prints its tail, the other runs go
# on, and the exit status is 1. The Python side is tools/misc/gpu_check_report.py.
# DEVICE=cpu runs the same steps on CPU (fp16 becomes bf16 autocast, nccl gloo): a dry run
# of the script itself, with small EPOCHS/NUM_TRAIN/NUM_VAL; its figures mean nothing.
set -uo pipefail
cd "$(dirname "$0")/../.."
HELPER=tools/misc/gpu_check_report.py
DEVICE=${DEVICE:-cuda}
if [ "$DEVICE" = cuda ]; then
    python "$HELPER" check-cuda || exit 2
else
    echo "DEVICE=$DEVICE: a dry run of this script, not a GPU check"
fi

OUT=${1:-work_dirs/gpu_check}
EPOCHS=${EPOCHS:-5}
NUM_TRAIN=${NUM_TRAIN:-1000}
NUM_VAL=${NUM_VAL:-200}
WORKERS=${WORKERS:-4}
RUNS=${RUNS:-ssdlite_fp32 ssdlite_fp16 ssdlite_dist faster_rcnn_fp32 faster_rcnn_fp16}
FAILED=()

# step RUN NAME LOG COMMAND...: run COMMAND with its output in LOG; say how it went
step() {
    local run=$1 name=$2 log=$3 start=$SECONDS
    shift 3
    if "$@" > "$log" 2>&1; then
        echo "  $run: $name ok, $((SECONDS - start)) s ($log)"
    else
        echo "  $run: $name FAILED after $((SECONDS - start)) s ($log):"
        tail -n 15 "$log" | sed 's/^/    | /'
        FAILED+=("$run $name")
        return 1
    fi
}

mkdir -p "$OUT"
if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    python -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda,
                                   "device", torch.cuda.get_device_name(0))'
fi
step data make_demo_data "$OUT/make_demo_data.txt" python tools/misc/make_demo_data.py \
    --out "$OUT/data" --num-train "$NUM_TRAIN" --num-val "$NUM_VAL" || exit 1
mapfile -t COMMON < <(python "$HELPER" options "$OUT/data" --epochs "$EPOCHS" \
                                               --workers "$WORKERS")
[ ${#COMMON[@]} -gt 0 ] || { echo "no options from $HELPER options" >&2; exit 1; }

for run in $RUNS; do
    model=${run%_*}
    variant=${run##*_}
    config=$(python "$HELPER" config "$model") || { FAILED+=("$run: no such run"); continue; }
    mapfile -t extra < <(python "$HELPER" variant "$variant")
    dir=$OUT/$run
    mkdir -p "$dir"
    echo "== $run ($config, ${extra[*]:-fp32})"
    options=(--work-dir "$dir" --seed 0 --cfg-options "${COMMON[@]}" "${extra[@]}")
    if [ "$variant" = dist ]; then
        train=(bash tools/dist_train.sh "$config" 1 "${options[@]}")
    else
        train=(python tools/train.py "$config" "${options[@]}")
    fi
    step "$run" train "$dir/train.txt" "${train[@]}" || continue
    step "$run" test "$dir/test.txt" python tools/test.py "$config" "$dir/latest.pth" \
        --eval bbox --cfg-options "${COMMON[@]}" || continue
    if [ "$variant" = fp32 ]; then
        step "$run" inference "$dir/inference.txt" python tools/analysis_tools/benchmark.py \
            "$config" "$dir/latest.pth" --device "$DEVICE" --batch-size 16 --num-warmup 2 \
            --max-iter 10 --cfg-options "${COMMON[@]}" || true
    fi
done

echo
# shellcheck disable=SC2086  # RUNS is a list of names
python "$HELPER" report "$OUT" --runs $RUNS
if [ ${#FAILED[@]} -gt 0 ]; then
    printf 'failed: %s\n' "${FAILED[@]}"
    exit 1
fi
