#!/bin/bash
# stop 40, after gate40.sh: the oracle gate at about a third of the rows (threshold 0.0068, between the
# calibration's 50% and 75% quantiles) and the random control at the same rate (p = 1/3).
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
P=videos/bench/PushTKeypoints-v0-kp400-s40/extra/probes/gate_bench.py
S=runs/pusht_kp400/student1_rho_fold2at0.1_ex100
ALL="100000 300000 500000 700000 900000 1100000 1300000 1500000 1700000"
.venv/bin/python $P g67 $S 0.0068 "$ALL" 2>&1 | grep --line-buffered "^g67" > runs/logs/g67.out &
.venv/bin/python $P gr33 $S random:0.3333 "$ALL" 2>&1 | grep --line-buffered "^gr33" > runs/logs/gr33.out
wait
date; echo DONE
