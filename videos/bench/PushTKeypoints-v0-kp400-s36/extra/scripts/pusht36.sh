#!/bin/bash
# stop 36: runs/ was gone. Stop 28's teacher command, run with its two threads on this host (AMD EPYC),
# already differs from stop 28's run (an Intel Xeon) at step 50 (loss 1.1028 against 1.1155; that run was
# stopped), so stop 34's flow-100 rows do not apply to a rebuilt teacher. A smaller chain on a teacher
# rebuilt here on one thread (loss 1.1174 at step 50, final 0.0285 against stop 28's 0.0291), with its own
# flow-100 reference on the three stop-28 seed sets: the demonstration-bank 1-step student (stop 28's
# student1_rho command), folded with and without the draft's own rollouts (parapolicy-finish rollouts=).
# Every job runs on one thread, at most two at a time. Then bench36_st.sh, save36.py and pooled36.sh.
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400; B=.venv/bin; L=runs/logs; mkdir -p $L
# demonstrations (stop 28's commands; this stop ran the two side by side, about 3.5 min)
[ -e runs/data/pusht_a.hdf5 ] || $B/parapolicy-collect env=PushT-v0 episodes=200 seed=0 out=runs/data/pusht_a.hdf5
[ -e runs/data/pusht_b.hdf5 ] || $B/parapolicy-collect env=PushT-v0 episodes=200 seed=200 out=runs/data/pusht_b.hdf5
# teacher (stop 28's command)
[ -e $K/checkpoint ] || $B/parapolicy-train env=PushTKeypoints-v0 policy.objective=flow \
  'dataset=[runs/data/pusht_a.hdf5,runs/data/pusht_b.hdf5]' out=$K train.steps=12000 train.lr=1e-3 \
  train.eval_every=12000 eval_episodes=0 progress=false > $L/teacher.log 2>&1
ref() {  # flow-100 at Ta = 3, T = 0.8 on one seed set, traced
  $B/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=100 num_envs=8 threads=1 jit=true 'rows=[flow100-t0.8]' seed=$1 out_dir=runs/b36ref_$1 progress=false \
    > $L/b36ref_$1.log 2>&1
}
# the draft (stop 28's student1_rho), beside the first two reference sets
[ -e $K/student1_rho ] || $B/parapolicy-distill checkpoint=$K/checkpoint student_steps=1 teacher_steps=20 \
  teacher_time_power=2 temperature=0.8 bank_size=80000 steps=3000 batch_size=512 lr=5e-4 label_batch=2048 \
  action_horizon=3 save_bank=true out=$K/student1_rho progress=false > $L/rho.log 2>&1 &
ref 100000; ref 300000
wait
# two folds side by side: on the draft's bank, and on the bank plus 300 of the draft's own episodes (half the pool)
F="$B/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_rho fold=true level=0.05 batch_size=512 \
  steps=4000 lr=1e-4 progress=false"
[ -e $K/student1_rho_fold ] || $F out=$K/student1_rho_fold > $L/fold36.log 2>&1 &
[ -e $K/student1_rho_fold_roll ] || $F rollouts=300 rollout_share=0.5 out=$K/student1_rho_fold_roll \
  > $L/fold36_roll.log 2>&1
wait
ref 500000
# then, by hand: the rows (bench36_st.sh; tags rho [student1-t0.8,draft-student1-flow1-at0.05-t0.8], fold, roll,
# tfold [the fold + one teacher call]), and a second fold round on two threads, alone but for those benches:
#   OMP_NUM_THREADS=2 $B/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_rho_fold fold=true level=0.05 \
#     batch_size=512 steps=4000 lr=1e-4 progress=false out=$K/student1_rho_fold2      # tag fold2
