#!/bin/bash
# stop 35: pooled, seed-paired success of the folded 1-step students over stop 34's nine seed sets (900 episodes)
cd "$(dirname "$0")/../../.."  # videos/bench
S32=PushTKeypoints-v0-kp400-s32/extra S34=PushTKeypoints-v0-kp400-s34/extra S35=PushTKeypoints-v0-kp400-s35/extra
rows=("1-step student1_tr (the draft)=$S32/samplers_dr_s{seed}.json+$S34/ref_{seed}.json@student1-t0.8")
# arguments: <tag>[@<row>] (default row student1-t0.8), as saved by ../scripts/save35.py
for arg in "$@"; do tag=${arg%@*}; row=student1-t0.8; [[ $arg == *@* ]] && row=${arg#*@}
  rows+=("$tag=$S35/${tag}_{seed}.json@$row"); done
python3 $S34/probes/pooled.py \
  100000,300000,500000,700000,900000,1100000,1300000,1500000,1700000 \
  "$S32/samplers_dr_s{seed}.json+$S34/ref_{seed}.json" "${rows[@]}" \
  "draft student1_tr + teacher call (stop 34)=$S32/samplers_dr_s{seed}.json+$S34/tfin_{seed}.json@draft-student1-flow1-at0.05-t0.8"
