#!/bin/bash
# stop 40: the oracle-gated finish (probes/gate_bench.py) of the stop-38 fold (seed 0) on the nine sets:
# always escalated (the plain pair, under this stop's code), and gated at the 75% and 50% quantiles of the
# corrections seen in the calibration run on seeds 100000… (0.0077 and 0.0051).
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
P=videos/bench/PushTKeypoints-v0-kp400-s40/extra/probes/gate_bench.py
S=runs/pusht_kp400/student1_rho_fold2at0.1_ex100
ALL="100000 300000 500000 700000 900000 1100000 1300000 1500000 1700000"
.venv/bin/python $P gall $S calibrate "$ALL" 2>&1 | grep "^gall" > runs/logs/gall.out &
.venv/bin/python $P g75 $S 0.0077 "$ALL" 2>&1 | grep "^g75" > runs/logs/g75.out
wait
.venv/bin/python $P g50 $S 0.0051 "$ALL" 2>&1 | grep "^g50" > runs/logs/g50.out
date; echo DONE
