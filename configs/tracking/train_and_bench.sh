#!/bin/bash
# Association pipeline (issue 16): cache -> train (w_max 0.1, 0.01, no detector features) -> bench.
# usage: configs/tracking/train_and_bench.sh GSNET_CKPT TAG [EPOCHS]
# The figures of README / docs/tracking.md: train_and_bench.sh src/grasplab/assets/gsnet/gsnet_cpu.safetensors shipped 10
# (cache 43 s, each head about 2 min, bench 165 s on this machine; results in runs/tracking/TAG/bench).
set -e
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
G=${GRASPLAB:-grasplab}
CK=$1; TAG=$2; EP=${3:-20}; R=runs/tracking/$TAG
mkdir -p $R
t0=$(date +%s)
if [ ! -f $R/cache/index.json ]; then
$G train association-cache --gsnet $CK --out $R/cache --static-root data/gsnet/train --static-scenes ${STATIC:-0-15} --val-scenes 100-101 --sequences ${SEQ:-2} --frames 6
fi
echo "cache $(( $(date +%s) - t0 )) s"
S="--set data.cache=$R/cache --set optim.epochs=$EP --set optim.lr_milestones=[$(( EP * 3 / 4 ))]"
$G train association --config configs/tracking/association.yaml --out $R/assoc01 $S
echo "train w0.1 $(( $(date +%s) - t0 )) s"
$G train association --config configs/tracking/association_wmax001.yaml --out $R/assoc001 $S
echo "train w0.01 $(( $(date +%s) - t0 )) s"
$G train association --config configs/tracking/association.yaml --out $R/assoc_nofeat $S --set model.use_detector_features=false
echo "train nofeat $(( $(date +%s) - t0 )) s"
${PYTHON:-python} benchmarks/bench_tracking.py --gsnet $CK --learned $R/assoc01/checkpoints/best.safetensors --learned w001=$R/assoc001/checkpoints/best.safetensors --learned nofeat=$R/assoc_nofeat/checkpoints/best.safetensors --static-root data/gsnet/train --static-scenes ${BSTATIC:-104-107} --sequences ${BSEQ:-2} --frames 8 --out $R/bench
echo "bench $(( $(date +%s) - t0 )) s"
