#!/bin/bash
# stop 35: the folded 1-step students (parapolicy-finish fold=true), each on one thread beside another job,
# then their 1-step row on the nine seed sets with stop 34's script:
#   bash videos/bench/PushTKeypoints-v0-kp400-s34/extra/scripts/bench34_st_all.sh runs/pusht_kp400/<student> <tag> student1-t0.8
# (it needs stop 34's flow-100 folders runs/b30a_<seed> and runs/b34ref_<seed>), and saved with save35.py <tag>.
cd /work/main
K=runs/pusht_kp400
F=".venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_tr fold=true level=0.05 batch_size=512 progress=false"
export OMP_NUM_THREADS=1
# tags fdraft and fself (run side by side, 1823 and 1821 s)
$F fold_target=draft steps=4000 lr=1e-4 out=$K/student1_fold_draft > runs/fold35_draft.log 2>&1 &
$F fold_target=self steps=4000 lr=1e-4 out=$K/student1_fold_self > runs/fold35_self.log 2>&1
wait
# tags fdraft8k and flr3 (run side by side)
$F steps=4000 lr=1e-4 init=$K/student1_fold_draft out=$K/student1_fold_draft_8k > runs/fold35_draft_8k.log 2>&1 &
$F steps=4000 lr=3e-4 out=$K/student1_fold_lr3 > runs/fold35_lr3.log 2>&1
wait
# tag fex10: the 8000-step fold, 3000 more steps with the executed positions weighted 10 (side by side with fold2)
$F steps=3000 lr=1e-4 executed_weight=10 action_horizon=3 init=$K/student1_fold_draft_8k out=$K/student1_fold_ex10 \
  > runs/fold35_ex10.log 2>&1 &
# tag ffold2: a second fold round, the 8000-step fold as the draft (its teacher-finished pair: tag tfold8k)
.venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_fold_draft_8k fold=true level=0.05 batch_size=512 \
  steps=4000 lr=1e-4 out=$K/student1_fold2 progress=false > runs/fold35_fold2.log 2>&1
wait
# tag tfold8k: bench34_st_all.sh runs/pusht_kp400/student1_fold_draft_8k tfold8k draft-student1-flow1-at0.05-t0.8
# a second fold round after the executed-weighted fold, weighted the same (two threads): stopped unfinished after
# 50 min beside the next run (the two oversubscribed the 2 cores), not benched
OMP_NUM_THREADS=2 .venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_fold_ex10 fold=true level=0.05 \
  batch_size=512 steps=3000 lr=1e-4 executed_weight=10 action_horizon=3 out=$K/student1_fold2_ex10 progress=false \
  > runs/fold35_fold2_ex10.log 2>&1
# tag ffold3ex10: a third round after fold2, executed-weighted (one thread, beside the run above)
.venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_fold2 fold=true level=0.05 batch_size=512 \
  steps=3000 lr=1e-4 executed_weight=10 action_horizon=3 out=$K/student1_fold3_ex10 progress=false \
  > runs/fold35_fold3_ex10.log 2>&1
