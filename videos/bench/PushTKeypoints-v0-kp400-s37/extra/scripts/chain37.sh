#!/bin/bash
# stop 37: once each new seed set's flow-100 folder exists, bench the students on it, one job at a time
cd /work/main
S37=videos/bench/PushTKeypoints-v0-kp400-s37/extra/scripts; K=runs/pusht_kp400
for S in 700000 900000 1100000 1300000 1500000 1700000; do
  while [ ! -e runs/b36ref_$S/samplers.json ]; do sleep 20; done
  $S37/bench37_st.sh $K/student1_rho rho student1-t0.8,draft-student1-flow1-at0.05-t0.8 $S
  $S37/bench37_st.sh $K/student1_rho_fold fold student1-t0.8 $S
  $S37/bench37_st.sh $K/student1_rho_fold_m6 m6 student1-t0.8 $S
  $S37/bench37_st.sh $K/student1_rho_fold_m6ex10 m6ex10 student1-t0.8 $S
done
echo CHAIN DONE
