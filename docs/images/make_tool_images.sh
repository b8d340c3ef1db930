#!/usr/bin/env bash
# Regenerates the pictures of the README's "Inference and tools" section:
#   docs/images/dataset_check.png  tools/misc/check_dataset.py on the demo config's data
#   docs/images/pr_curves.png      tools/test.py --eval bbox --pr-curve-dir
#   docs/images/video_frame.png    frame 24 of demo/video_demo.py on a demo-shapes video
# Needs the demo data (python tools/misc/make_demo_data.py --out data/demo) and a trained
# demo checkpoint (README, "Train and evaluate the demo detector").
# Usage, from the repository root:
#   bash docs/images/make_tool_images.sh [CHECKPOINT]   (default: work_dirs/demo/latest.pth)
set -euo pipefail
CKPT=${1:-work_dirs/demo/latest.pth}
CONFIG=configs/demo/ssdlite_mobilenetv2_demo.py
OUT=docs/images
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python tools/misc/check_dataset.py "$CONFIG" --out-dir "$TMP/check"
cp "$TMP/check/dataset_check.png" "$OUT/dataset_check.png"
python tools/test.py "$CONFIG" "$CKPT" --eval bbox --pr-curve-dir "$TMP/pr" --work-dir "$TMP/test"
cp "$TMP/pr/pr_curves.png" "$OUT/pr_curves.png"
python demo/make_demo_video.py "$TMP/shapes.mp4" --frames 48 --seed 0
python demo/video_demo.py "$TMP/shapes.mp4" "$CONFIG" "$CKPT" --out "$TMP/shapes_result.mp4" \
    --snapshot "$OUT/video_frame.png" --snapshot-frame 24
