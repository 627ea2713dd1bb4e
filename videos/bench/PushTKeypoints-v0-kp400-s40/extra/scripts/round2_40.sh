#!/bin/bash
# stop 40: second fold rounds. The draft is the stop-38 fold toward two teacher calls from 0.1 (seed 0),
# whose own teacher finish scores 0.976x (one call at 0.05) and 0.997x (two calls from 0.1) over nine sets
# (pooled40.out); each round folds one of those finishes back into it with stop 38's flags (fold38.sh).
cd /work/main
K=runs/pusht_kp400
F=videos/bench/PushTKeypoints-v0-kp400-s38/extra/scripts/fold38.sh
EXTRA="level=0.1 finish_steps=2" bash $F $K/student1_rho_fold2at0.1_ex100 100 $K/r2_f2at0.1 &
EXTRA="level=0.05" bash $F $K/student1_rho_fold2at0.1_ex100 100 $K/r2_f1at0.05 &
wait
date; echo DONE
