"""``DiffusionPolicy``: an action-chunk diffusion (DDPM ε-prediction) or flow-matching policy.

Training (``compute_loss``): noise a normalized action chunk to a random level of the training
schedule and regress the network's output onto the schedule's target (ε for DDPM, velocity for
flow), conditioned on the normalized, flattened observation history.

Inference (``predict_chunk``): start from Gaussian noise and run the one sequential loop
``parapolicy.policies.sampling.denoise`` over the inference schedule's timesteps with ``denoiser``
— the Denoiser protocol: ``(x_t (B, H, Da), t (B,) schedule time, cond (B, Dc)) -> (B, H, Da)``,
which converts schedule time to network time and uses the EMA weights by default. Planners use
``denoiser``, ``schedule``, ``timesteps``, ``encode_obs`` and ``unnormalize_action`` directly.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import ChunkPolicyBase
from ..config import SAMPLERS_FOR_OBJECTIVE, PolicyConfig
from ..normalizer import Normalizer
from ..sampling import check_temperature, denoise
from ..schedules import SCHEDULES


def build_schedule(name: str, config: PolicyConfig) -> Any:
    """The schedule ``name`` (ddpm | ddim | flow) with the config's training levels and clipping."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown sampler {name!r}; allowed: {', '.join(SCHEDULES)}")
    if name == "flow":
        return SCHEDULES[name](num_train_steps=config.num_train_steps)
    return SCHEDULES[name](num_train_steps=config.num_train_steps, clip_sample=config.clip_sample)


class DiffusionPolicy(ChunkPolicyBase):
    """Diffusion / flow policy over action chunks (see the module docstring).

    Attributes: ``train_schedule`` (what the network was trained on), ``schedule`` (the default
    inference schedule, ``config.sampler``), ``timesteps`` (its ``(K+1,)`` levels: ``config.timesteps``
    when set, else ``inference_steps`` evenly spaced).
    """

    def __init__(self, config: PolicyConfig, normalizer: Normalizer | None = None) -> None:
        if config.kind != "diffusion":
            raise ValueError(f"DiffusionPolicy needs config.kind 'diffusion', got {config.kind!r}")
        super().__init__(config, normalizer)
        self.train_schedule = build_schedule("flow" if config.objective == "flow" else "ddpm", config)
        self.schedule = build_schedule(config.sampler, config)
        self._schedules: dict[str, Any] = {config.sampler: self.schedule}

    @property
    def timesteps(self) -> Tensor:
        """The default sampler's levels ``(K+1,)``, noisiest first."""
        if self.config.timesteps is not None:
            dtype = torch.long if self.config.objective == "ddpm" else torch.float32
            return torch.tensor(self.config.timesteps, dtype=dtype)  # (K+1,)
        return self.schedule.timesteps(self.config.inference_steps)  # (K+1,)

    def get_schedule(self, sampler: str) -> Any:
        """An inference schedule by name, checked against the training objective."""
        allowed = SAMPLERS_FOR_OBJECTIVE[self.config.objective]
        if sampler not in allowed:
            raise ValueError(f"sampler {sampler!r} cannot run a model trained with objective "
                             f"{self.config.objective!r}; allowed: {', '.join(allowed)}")
        if sampler not in self._schedules:
            self._schedules[sampler] = build_schedule(sampler, self.config)
        return self._schedules[sampler]

    # -- the Denoiser protocol --------------------------------------------------------------------------
    def denoiser(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """``x_t (B, H, Da)`` normalized noisy chunk, ``t (B,)`` schedule time, ``cond (B, Dc)`` →
        the network output ``(B, H, Da)`` (ε or velocity), with the inference (EMA) weights."""
        return self.inference_call(x_t, self.train_schedule.network_time(t), cond)

    def example_network_time(self) -> Tensor:
        """The first inference level as network time ``(1,)`` (for tracing)."""
        return self.train_schedule.network_time(self.timesteps[:1].to(self.device))

    # -- training -------------------------------------------------------------------------------------
    def compute_loss(self, obs: Tensor, actions: Tensor, *, net: nn.Module | None = None) -> Tensor:
        """Mean squared error of the network's ε / velocity prediction on one batch.

        ``obs (B, To, Do)`` and ``actions (B, H, Da)`` are *normalized* (as ``ChunkDataset`` yields);
        ``net``: the network to train (default the live ``model``; the trainer passes its DDP
        wrapper). Noise and levels come from torch's global RNG (seeded/restored by the trainer).
        """
        B = actions.shape[0]
        cond = obs.reshape(B, -1)  # (B, To·Do)
        noise = torch.randn_like(actions)  # (B, H, Da)
        t = self.train_schedule.sample_train_t(B, device=actions.device)  # (B,)
        x_t = self.train_schedule.add_noise(actions, noise, t)  # (B, H, Da)
        target = self.train_schedule.training_target(actions, noise, t)  # (B, H, Da)
        pred = (net if net is not None else self.model)(x_t, self.train_schedule.network_time(t), cond)
        return F.mse_loss(pred, target)

    # -- inference ------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict_chunk(self, obs_history: np.ndarray | Tensor, *, sampler: str | None = None,
                      steps: int | None = None, generator: torch.Generator | None = None,
                      temperature: float = 1.0) -> np.ndarray:
        """Sample action chunks in raw units from a raw observation history.

        ``obs_history``: ``(To, Do)`` → returns ``(H, Da)``; ``(B, To, Do)`` → ``(B, H, Da)`` (float32).
        ``sampler``: ddpm | ddim | flow (default ``config.sampler``); ``steps``: K (default: the
        policy's own ``timesteps`` for its default sampler, else ``config.inference_steps``).
        ``generator``: a CPU ``torch.Generator`` for the initial and per-step noise (None: global RNG).
        ``temperature``: the initial noise is drawn from N(0, temperature²·I) (1: the distribution the
        network was trained from; below 1 the chain starts nearer the middle of the noise and lands on
        likelier chunks). Only the initial noise is scaled, never DDPM's per-step noise.
        """
        temperature = check_temperature(temperature)
        obs, single = self.prepare_obs_history(obs_history)
        name = sampler if sampler is not None else self.config.sampler
        schedule = self.get_schedule(name)
        if steps is None:
            ts = self.timesteps if name == self.config.sampler else schedule.timesteps(self.config.inference_steps)
        else:
            ts = schedule.timesteps(int(steps))
        B, H, Da = obs.shape[0], self.config.pred_horizon, self.config.action_dim
        x_init = torch.randn((B, H, Da), generator=generator).mul_(temperature).to(self.device)  # (B, H, Da)
        cond = self.encode_obs(obs)  # (B, Dc)
        out = denoise(self.denoiser, schedule, x_init, cond, ts, generator=generator)
        return self._finish(out.x0, single)
