#!/usr/bin/env bash
# Create the side venv the benchmarks compare against: MMAction2 1.2.0 and its pinned dependencies.
# Never a dependency of vidact; the benchmarks take its python with --mmaction-python.
#
#   bash benchmarks/peers.sh [VENV_DIR]          # default: .peers/mmaction2
#   TORCH="torch==2.13.0 --index-url ..." bash benchmarks/peers.sh   # another torch build
#
# MMAction2's wheel lacks mmaction/models/localizers/drn; the benchmark drivers register an empty
# module of that name before importing mmaction (this script checks the import the same way).
set -euo pipefail
VENV=${1:-.peers/mmaction2}
PYTHON=${PYTHON:-python3}
TORCH=${TORCH:-torch==2.13.0}
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
fi
# shellcheck disable=SC2086  # TORCH may carry pip options
"$VENV/bin/pip" install --quiet $TORCH
"$VENV/bin/pip" install --quiet mmaction2==1.2.0 mmengine==0.10.7 mmcv-lite==2.1.0 importlib-metadata \
    decord==0.6.0 'numpy<2' 'setuptools>=77,<81'
"$VENV/bin/python" - <<'PY'
import sys, types
sys.modules["mmaction.models.localizers.drn"] = types.ModuleType("mmaction.models.localizers.drn")
import mmaction, mmengine, torch
print(f"mmaction2 {mmaction.__version__}, mmengine {mmengine.__version__}, torch {torch.__version__}")
PY
echo "peer venv ready: pass --mmaction-python $VENV/bin/python to the benchmarks"
