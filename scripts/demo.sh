#!/usr/bin/env bash
# The README's main job on the built-in default:
#  1. generate the synthetic direction-of-motion dataset, train the toy TSM recipe on it, test the
#     best checkpoint and evaluate the scores;
#  2. generate synthetic localization features, train the toy BMN recipe, write its proposals with
#     `vidact proposals bmn` and evaluate AR@AN (curve plotted; a sliding-window baseline beside it);
#  3. evaluate detection mAP on an ActivityNet-validation-scale synthetic benchmark.
set -euo pipefail
DEMO_DIR="${DEMO_DIR:-demo_out}"
VIDACT="${VIDACT:-vidact}"
PY="${PY:-python}"
mkdir -p "$DEMO_DIR"
DATA="$DEMO_DIR/synth"
WORK="$DEMO_DIR/toy_tsm"

echo "== [1/7] synthetic recognition dataset in $DATA" >&2
if [ ! -f "$DATA/dataset.json" ]; then
    "$VIDACT" dataset synth recognition --out "$DATA" --force
fi
echo "== [2/7] training recipes/toy/tsm.yaml (resumes if interrupted)" >&2
"$VIDACT" train recipes/toy/tsm.yaml --work-dir "$WORK" --resume auto \
    --set data.train.ann_file="$DATA/train_list_videos.txt" --set data.train.data_prefix="$DATA" \
    --set data.val.ann_file="$DATA/val_list_videos.txt" --set data.val.data_prefix="$DATA" \
    --set data.test.ann_file="$DATA/val_list_videos.txt" --set data.test.data_prefix="$DATA"
echo "== [3/7] testing the best checkpoint" >&2
"$VIDACT" test recipes/toy/tsm.yaml --checkpoint "$WORK/best.pth" --out "$DEMO_DIR/scores.json" \
    --set data.test.ann_file="$DATA/val_list_videos.txt" --set data.test.data_prefix="$DATA"
"$VIDACT" eval --metric top_k_accuracy --metric mean_class_accuracy --topk 1 \
    --ann "$DATA/val_list_videos.txt" "$DEMO_DIR/scores.json" --json > "$DEMO_DIR/recognition_metrics.json"
cat "$DEMO_DIR/recognition_metrics.json"

LOC="$DEMO_DIR/synth_anet"
BMN_WORK="$DEMO_DIR/toy_bmn"
LOC_SET=()
for split in train val test; do
    ann="$LOC/anet_anno_val.json"; [ "$split" = train ] && ann="$LOC/anet_anno_train.json"
    LOC_SET+=(--set "data.$split.ann_file=$ann" --set "data.$split.data_prefix=$LOC/csv_mean_32")
done
echo "== [4/7] synthetic localization features in $LOC (200 videos, 32 positions x 64-d)" >&2
if [ ! -f "$LOC/dataset.json" ]; then
    "$VIDACT" dataset synth localization --out "$LOC" --num-videos 200 --temporal-scale 32 --feature-dim 64 --force
fi
echo "== [5/7] training recipes/toy/bmn.yaml (resumes if interrupted)" >&2
"$VIDACT" train recipes/toy/bmn.yaml --work-dir "$BMN_WORK" --resume auto "${LOC_SET[@]}"
echo "== [6/7] BMN proposals and AR@AN (sliding-window baseline first)" >&2
"$PY" benchmarks/sliding_window_baseline.py --ann "$LOC/anet_anno_val.json" --out "$DEMO_DIR/sliding_window.json"
"$VIDACT" eval --metric AR@AN --ann "$LOC/anet_anno_val.json" "$DEMO_DIR/sliding_window.json" \
    --json > "$DEMO_DIR/sliding_window_metrics.json"
"$VIDACT" proposals bmn recipes/toy/bmn.yaml --checkpoint "$BMN_WORK/best.pth" --out "$DEMO_DIR/bmn_results.json" \
    "${LOC_SET[@]}"
"$VIDACT" eval --metric AR@AN --ann "$LOC/anet_anno_val.json" "$DEMO_DIR/bmn_results.json" --plot "$DEMO_DIR/ar_an.png"
echo "== [7/7] detection mAP (synthetic ActivityNet-scale detections)" >&2
"$PY" -c "import sys; from vidact.data.synth import write_synth_activitynet; write_synth_activitynet(sys.argv[1])" "$DEMO_DIR"
"$VIDACT" eval --metric mAP --ann "$DEMO_DIR/gt.json" "$DEMO_DIR/detections.json" --json > "$DEMO_DIR/detection_metrics.json"
echo "== done: outputs in $DEMO_DIR" >&2
