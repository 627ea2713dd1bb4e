"""Planners: turn a slow generative policy into an action source that answers on time.

Samplers under a ``Budget`` (``SequentialSampler``, the second-order flow ``AdamsBashforth2Sampler``,
ParaDiGMS ``PicardSampler``, ``CascadeSampler``),
amortized inference (``warm_start``, ``amortized_trajectory``, distilled students via
``student.distill``), a measured ``CostModel`` of the hardware, and the control-loop policies
``RealtimePlanner`` (menu + budget + queue) and ``AsyncExecutor`` (real-time chunking under inference
delay). ``menu.build_planner`` builds any of them from plain config values (a menu of spec strings,
a budget). Import the submodules directly, e.g. ``from parapolicy.planners.menu import build_planner``;
this package file imports nothing so that ``parapolicy.planners.rollout`` stays light.
"""
