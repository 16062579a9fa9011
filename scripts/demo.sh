#!/usr/bin/env bash
# The README's main job on the built-in default:
#  1. generate the synthetic direction-of-motion dataset, train the toy TSM recipe on it, test the
#     best checkpoint and evaluate the scores;
#  2. evaluate an ActivityNet-validation-scale synthetic localization benchmark (AR@AN and mAP).
set -euo pipefail
DEMO_DIR="${DEMO_DIR:-demo_out}"
VIDACT="${VIDACT:-vidact}"
PY="${PY:-python}"
mkdir -p "$DEMO_DIR"
STARTED=$SECONDS
DATA="$DEMO_DIR/synth"
WORK="$DEMO_DIR/toy_tsm"

echo "== [1/5] synthetic recognition dataset in $DATA" >&2
if [ ! -f "$DATA/dataset.json" ]; then
    "$VIDACT" dataset synth recognition --out "$DATA" --force
fi
echo "== [2/5] training recipes/toy/tsm.yaml (resumes if interrupted)" >&2
"$VIDACT" train recipes/toy/tsm.yaml --work-dir "$WORK" --resume auto \
    --set data.train.ann_file="$DATA/train_list_videos.txt" --set data.train.data_prefix="$DATA" \
    --set data.val.ann_file="$DATA/val_list_videos.txt" --set data.val.data_prefix="$DATA" \
    --set data.test.ann_file="$DATA/val_list_videos.txt" --set data.test.data_prefix="$DATA"
echo "== [3/5] testing the best checkpoint" >&2
"$VIDACT" test recipes/toy/tsm.yaml --checkpoint "$WORK/best.pth" --out "$DEMO_DIR/scores.json" \
    --set data.test.ann_file="$DATA/val_list_videos.txt" --set data.test.data_prefix="$DATA"
"$VIDACT" eval --metric top_k_accuracy --metric mean_class_accuracy --topk 1 \
    --ann "$DATA/val_list_videos.txt" "$DEMO_DIR/scores.json" --json > "$DEMO_DIR/recognition_metrics.json"
cat "$DEMO_DIR/recognition_metrics.json"

echo "== [4/5] synthetic ActivityNet-scale localization results" >&2
"$PY" -c "import sys; from vidact.data.synth import write_synth_activitynet; write_synth_activitynet(sys.argv[1])" "$DEMO_DIR"
"$VIDACT" eval --metric AR@AN --ann "$DEMO_DIR/gt.json" "$DEMO_DIR/proposals.json" --plot "$DEMO_DIR/ar_an.png" \
    --json > "$DEMO_DIR/proposal_metrics.json"
echo "== [5/5] detection mAP" >&2
"$VIDACT" eval --metric mAP --ann "$DEMO_DIR/gt.json" "$DEMO_DIR/detections.json" --json > "$DEMO_DIR/detection_metrics.json"
echo "== done: outputs in $DEMO_DIR" >&2
"$PY" "$(dirname "$0")/demo_recap.py" "$DEMO_DIR" "$((SECONDS - STARTED))"
