#!/bin/bash
# stop 34: pooled, seed-paired success of the Push-T 2-step students over nine seed sets (900 episodes)
cd "$(dirname "$0")/../../.."  # videos/bench
S32=PushTKeypoints-v0-kp400-s32/extra S33=PushTKeypoints-v0-kp400-s33/extra S34=PushTKeypoints-v0-kp400-s34/extra
python3 PushTKeypoints-v0-kp400-s34/extra/probes/pooled.py 100000,300000,500000,700000,900000,1100000,1300000,1500000,1700000 \
  "$S32/samplers_dr_s{seed}.json+$S34/ref_{seed}.json" \
  "draft student1_tr + teacher call=$S32/samplers_dr_s{seed}.json+$S34/tfin_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "draft student1_op + teacher call=$S34/tfinop_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "finisher {mid_blocks: 0} (student2_fin_mid0)=$S32/samplers_fin_mid0_s{seed}.json+$S34/mid0_{seed}.json" \
  "finisher {mid_blocks: 2, level_blocks: 1} (student2_fin_lb1m2)=$S33/lb1m2_{seed}.json+$S34/lb1m2_{seed}.json" \
  "finisher {mid_blocks: 1, level_blocks: 1}, 9000 steps=$S33/lb1m1_9k_{seed}.json+$S34/lb1m1_9k_{seed}.json" \
  "draft student1_op + finisher {mid_blocks: 0} (student2_op_mid0)=$S34/opmid0_{seed}.json" \
  "draft student1_op + finisher {mid_blocks: 2, level_blocks: 1} (student2_op_lb1m2)=$S34/oplb1m2_{seed}.json" \
  "student2_fin_mid0 + 5000 steps (continued)=$S34/mid0x_{seed}.json" \
  "student2_fin_lb1m2 + 5000 steps (continued)=$S34/lb1m2x_{seed}.json" \
  "1-step student1_tr=$S32/samplers_dr_s{seed}.json+$S34/ref_{seed}.json@student1-t0.8" "$@"
