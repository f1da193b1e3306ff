#!/bin/bash
# The shipped association head and the catch-success table of the dynamic loop (issue 16).
# usage: configs/tracking/ship_and_catch.sh [EPISODES] [SETS]
#   EPISODES per tracker and motion (default 10); SETS: object sets of bench dynamic
#   (default "primitives"; e.g. "primitives seen novel" adds library objects on conveyor,
#   turntable and random).
# 1. The w_max 0.1 head (feature cache of the shipped GSNet's post-processed grasps, the ones
#    grasplab track follows: adjacent views of scenes 0-63 of data/gsnet/train, 24 moving
#    sequences per motion; 10 epochs), copied to src/grasplab/assets/association/ (what
#    --tracker learned loads by default). The shipped file was made in runs/tracking/post_big24.
# 2. benchmarks/bench_dynamic.py: grasplab bench dynamic with the learned tracker and the nearest
#    heuristic, both detecting with the shipped GSNet on 640x480 frames, every motion, seed 0, one
#    thread; cells in benchmarks/results/dynamic/ (a cell already written is skipped: rerun to
#    resume), the table in benchmarks/results/dynamic.json / .md.
# Needs data/gsnet/train (configs/grasp/make_gsnet_data.sh).
set -e
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
G=${GRASPLAB:-grasplab}
EPISODES=${1:-10}; SETS=${2:-primitives}
CK=src/grasplab/assets/gsnet/gsnet_cpu.safetensors
R=runs/tracking/shipped_post
SHIP=src/grasplab/assets/association/association_gsnet_cpu.safetensors
mkdir -p $R
t0=$(date +%s)
if [ ! -f $SHIP ]; then
  if [ ! -f $R/cache/index.json ]; then
    $G train association-cache --gsnet $CK --out $R/cache --static-root data/gsnet/train \
      --static-scenes 0-63 --val-scenes 100-101 --sequences 24 --frames 6 --postprocess
  fi
  $G train association --config configs/tracking/association.yaml --out $R/assoc01 \
    --set data.cache=$R/cache --set optim.epochs=10 --set "optim.lr_milestones=[7]"
  cp $R/assoc01/checkpoints/best.safetensors $SHIP
  echo "head $(( $(date +%s) - t0 )) s"
fi
${PYTHON:-python} benchmarks/bench_dynamic.py --episodes $EPISODES --object-sets "${SETS// /,}" \
  --trackers learned,nearest --detector gsnet --image-width 640
echo "catch $(( $(date +%s) - t0 )) s"
