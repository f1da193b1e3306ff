#!/bin/bash
# GSNet training data (issue 14): 64 seen-split training scenes x 8 views from a 32-object pool,
# 8 test-seen scenes (ids 100-107, same pool), object labels at 8 mm spacing with AnyGrasp's depth.
set -e
cd "$(dirname "$0")/../.."
G=${GRASPLAB:-grasplab}
R=data/gsnet/train
t0=$(date +%s)
$G scenes generate --split seen --num-scenes 64 --views 8 --object-pool 32 --no-parallel-depth --out $R --seed 0 --workers 2
$G scenes generate --split seen --num-scenes 8 --first-scene 100 --views 8 --object-pool 32 --no-parallel-depth --out $R --seed 0 --workers 2
echo "scenes $(( $(date +%s) - t0 )) s"
$G label objects --root $R --spacing 0.008 --anygrasp-depths --workers 2
echo "objects $(( $(date +%s) - t0 )) s"
$G label scenes --root $R --workers 2
echo "collision $(( $(date +%s) - t0 )) s"
$G label graspness --root $R --workers 2
echo "graspness $(( $(date +%s) - t0 )) s"
$G label sdf --root $R   # the reference AP backend scores the test-seen scenes 100-107
# test roots of the other splits (benchmarks/bench_grasp.py)
for split in similar novel; do
  $G scenes generate --split $split --num-scenes 4 --first-scene 100 --views 8 --no-parallel-depth --out data/gsnet/test_$split --seed 0
  $G label sdf --root data/gsnet/test_$split
done
