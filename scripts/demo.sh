#!/usr/bin/env bash
# The README's main job on the built-in default: generate an ActivityNet-validation-scale synthetic
# localization benchmark (ground truth, proposals, detections) and evaluate it with vidact.
set -euo pipefail
DEMO_DIR="${DEMO_DIR:-demo_out}"
VIDACT="${VIDACT:-vidact}"
PY="${PY:-python}"
mkdir -p "$DEMO_DIR"
echo "== generating synthetic ActivityNet-scale data in $DEMO_DIR" >&2
"$PY" -c "import sys; from vidact.data.synth import write_synth_activitynet; print(write_synth_activitynet(sys.argv[1]))" "$DEMO_DIR" >&2
echo "== proposals: AR@AN" >&2
"$VIDACT" eval --metric AR@AN --ann "$DEMO_DIR/gt.json" "$DEMO_DIR/proposals.json" --plot "$DEMO_DIR/ar_an.png"
echo "== detections: mAP" >&2
"$VIDACT" eval --metric mAP --ann "$DEMO_DIR/gt.json" "$DEMO_DIR/detections.json" --json > "$DEMO_DIR/detection_metrics.json"
cat "$DEMO_DIR/detection_metrics.json"
echo "== done: outputs in $DEMO_DIR" >&2
