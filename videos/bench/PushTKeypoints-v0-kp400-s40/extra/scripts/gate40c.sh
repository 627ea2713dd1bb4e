#!/bin/bash
# stop 40, after gate40b.sh: the oracle gate at about 40% of the rows (threshold 0.0060) and the random
# control at half of them (p = 0.5), to tell the oracle's selection from the rate alone.
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
P=videos/bench/PushTKeypoints-v0-kp400-s40/extra/probes/gate_bench.py
S=runs/pusht_kp400/student1_rho_fold2at0.1_ex100
ALL="100000 300000 500000 700000 900000 1100000 1300000 1500000 1700000"
.venv/bin/python $P g60 $S 0.0060 "$ALL" 2>&1 | grep --line-buffered "^g60" > runs/logs/g60.out &
.venv/bin/python $P gr50 $S random:0.5 "$ALL" 2>&1 | grep --line-buffered "^gr50" > runs/logs/gr50.out
wait
date; echo DONE
