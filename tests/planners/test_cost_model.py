"""Cost model on synthetic timings: interpolation, prediction, caching."""
from __future__ import annotations

import json

import pytest
import torch

from parapolicy.planners.cost_model import CHAIN_CALLS, STEADY_CALLS, CostModel, model_fingerprint
from parapolicy.planners.picard import PicardSampler
from parapolicy.planners.sequential import SequentialSampler
from planner_helpers import MLPDenoiser, schedules

torch.set_num_threads(1)


def cpu_like(batch: int) -> float:
    """Synthetic CPU: 2 ms fixed + 1 ms per row (batching is not free)."""
    return 0.002 + 0.001 * batch


def test_measure_takes_median_and_interpolates() -> None:
    calls: list[int] = []
    noisy = iter([0.0] * 3 + [0.5] + [0.0] * 1000)  # an outlier (batch 1's first timed call) must not move the median
    per = 1 + CHAIN_CALLS + STEADY_CALLS  # a cold call, then the chain timed for the warm and steady costs

    def timing(b: int) -> float:
        calls.append(b)
        return cpu_like(b) + next(noisy)

    cm = CostModel.measure(object(), x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 4, 16), warmup=1,
                           repeats=5, timing_fn=timing)
    assert calls.count(1) == calls.count(4) == calls.count(16) == 1 + 5 * per  # warm-up + repeats
    # round-robin: a size's cold call follows another size's calls
    assert calls[3:3 + 3 * per] == [1] * per + [4] * per + [16] * per
    assert cm.cost(1) == pytest.approx(0.003)
    assert cm.cost(16) == pytest.approx(0.018)
    assert cm.cost(10) == pytest.approx(cpu_like(10))  # linear between 4 and 16
    assert cm.cost(32) == pytest.approx(cpu_like(32))  # extrapolated with the last slope
    assert cm.cost(0.5) == pytest.approx(0.003)
    assert cm.batching_speedup(16) == pytest.approx(16 * 0.003 / 0.018)


def test_predict_sampler_configs() -> None:
    cm = CostModel(latency_s={1: 0.003, 8: 0.010, 16: 0.018}, default_overhead_s=0.0005)
    sch = schedules()["ddpm"]
    seq = SequentialSampler(sch, steps=100)
    assert cm.predict(seq) == pytest.approx(100 * (0.003 + 0.0005))
    pic = PicardSampler(sch, steps=100, window=16)
    # before any run Picard's depth is the worst case K
    assert cm.predict(pic) == pytest.approx(100 * (0.018 + 0.0005))
    assert cm.predict(pic, depth=25) == pytest.approx(25 * (0.018 + 0.0005))
    pic.depth_history.extend([25, 26, 24])
    assert cm.predict(pic) == pytest.approx(25 * (0.018 + 0.0005))
    # batch of 4 environments widens each pass
    assert cm.predict(seq, batch=4) == pytest.approx(100 * (0.003 + (0.010 - 0.003) * 3 / 7 + 0.0005))
    # on this synthetic CPU Picard-25-passes-of-16 is not cheaper than a 100-step sequential run
    assert cm.predict(pic) > cm.predict(seq)


class _CacheCPU:
    """Synthetic timings: 3 ms + 1 ms per row after a call of another size, 2.5 ms + 1 ms per row
    straight after one of the same size, 2 ms + 1 ms per row after two or more, and 1.5 ms + 1 ms per
    row from the tenth call of a run on (the caches keep warming)."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.run = 0

    def __call__(self, batch: int) -> float:
        self.run, self.last = (self.run + 1 if self.last == batch else 0), batch
        return (0.0015 if self.run >= 10 else (0.003, 0.0025, 0.002)[min(self.run, 2)]) + 0.001 * batch


def test_a_chain_pays_one_cold_call_then_warm_then_steady_calls(tmp_path) -> None:
    cm = CostModel.measure(object(), x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 4), warmup=1, repeats=3,
                           timing_fn=_CacheCPU(), cache_dir=tmp_path, fingerprint="synthetic")
    assert cm.latency_s == {1: pytest.approx(0.004), 4: pytest.approx(0.007)}
    warm = (0.0025 + 0.002 * (CHAIN_CALLS - 1)) / CHAIN_CALLS  # calls 1-8's mean fixed cost
    assert cm.warm_latency_s == {1: pytest.approx(warm + 0.001), 4: pytest.approx(warm + 0.004)}
    steady = (0.002 + 0.0015 * (STEADY_CALLS - 1)) / STEADY_CALLS  # calls 9-16: the ninth is not yet faster
    assert cm.steady_latency_s == {1: pytest.approx(steady + 0.001), 4: pytest.approx(steady + 0.004)}
    assert cm.warm_cost(2) == pytest.approx(warm + 0.002) and cm.cost(2) == pytest.approx(0.005)
    assert cm.steady_cost(2) == pytest.approx(steady + 0.002)
    cm.default_overhead_s = 0.0005
    sch = schedules()["ddpm"]
    assert cm.predict(SequentialSampler(sch, steps=100)) == pytest.approx(
        0.004 + CHAIN_CALLS * (warm + 0.001) + (99 - CHAIN_CALLS) * (steady + 0.001) + 100 * 0.0005)
    assert cm.predict(SequentialSampler(sch, steps=5)) == pytest.approx(0.004 + 4 * (warm + 0.001) + 5 * 0.0005)
    assert cm.predict(SequentialSampler(sch, steps=1)) == pytest.approx(0.004 + 0.0005)
    assert cm.predict(PicardSampler(sch, steps=100, window=4), depth=0.5) == pytest.approx(0.5 * (0.007 + 0.0005))
    # the warm and steady costs travel through the cache; a model written before them reads as all-cold
    again = CostModel.load(next((tmp_path / "cost_model").glob("*.json")))
    assert again.warm_latency_s == cm.warm_latency_s and again.steady_latency_s == cm.steady_latency_s
    old = CostModel(latency_s={1: 0.004, 4: 0.007})
    assert old.steady_cost(2) == old.warm_cost(2) == old.cost(2) == pytest.approx(0.005)
    assert CostModel(latency_s={1: 0.004}, warm_latency_s={1: 0.009}).warm_cost(1) == pytest.approx(0.004)
    assert CostModel(latency_s={1: 0.004}, warm_latency_s={1: 0.003},
                     steady_latency_s={1: 0.0035}).steady_cost(1) == pytest.approx(0.003)  # never above warm
    with pytest.raises(ValueError, match="latency"):
        CostModel(latency_s={1: 0.004}, warm_latency_s={1: -1.0})


def test_a_cache_written_without_steady_costs_is_measured_again(tmp_path) -> None:
    old = CostModel(latency_s={1: 0.004, 2: 0.005}, warm_latency_s={1: 0.003, 2: 0.004})
    old.key = "k"
    path = tmp_path / "cost_model"
    path.mkdir()
    from parapolicy.planners.cost_model import cache_key

    (path / f"{cache_key('pre-steady')}.json").write_text(json.dumps(old.to_dict() | {"steady_latency_s": {}}))
    fresh = CostModel.measure(object(), x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 2), warmup=0, repeats=1,
                              timing_fn=lambda b: 0.001 * b, cache_dir=tmp_path, fingerprint="pre-steady")
    assert fresh.cost(1) == pytest.approx(0.001) and fresh.steady_latency_s == {1: pytest.approx(0.001),
                                                                                 2: pytest.approx(0.002)}


def test_gpu_like_timings_favour_picard() -> None:
    cm = CostModel.measure(object(), x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 16), warmup=0,
                           repeats=1, timing_fn=lambda b: 0.005 + 1e-5 * b)
    sch = schedules()["ddpm"]
    picard = cm.predict(PicardSampler(sch, steps=100, window=16), depth=25)
    assert picard < cm.predict(SequentialSampler(sch, steps=100))


def test_cache_roundtrip_keyed_by_fingerprint(tmp_path) -> None:
    net = MLPDenoiser(16, 2, 8)
    cm = CostModel.measure(net, x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 2), repeats=1,
                           timing_fn=cpu_like, cache_dir=tmp_path)
    files = list((tmp_path / "cost_model").glob("*.json"))
    assert len(files) == 1 and model_fingerprint(net, (16, 2), 8) in files[0].name
    assert f"-t{torch.get_num_threads()}" in files[0].name
    data = json.loads(files[0].read_text())
    assert data["latency_s"]["2"] == pytest.approx(0.004)
    # a second measure hits the cache (the timing function is never called)
    again = CostModel.measure(net, x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 2), repeats=1,
                              timing_fn=lambda b: pytest.fail("cache miss"), cache_dir=tmp_path)
    assert again.latency_s == cm.latency_s
    # another architecture has another key
    assert model_fingerprint(MLPDenoiser(16, 2, 8, hidden=32), (16, 2), 8) != model_fingerprint(net, (16, 2), 8)
    assert model_fingerprint(MLPDenoiser(16, 2, 8, seed=5), (16, 2), 8) == model_fingerprint(net, (16, 2), 8)


def test_a_stale_cache_is_measured_again(tmp_path, monkeypatch) -> None:
    """With real timing a cached model is checked at its smallest batch: within 2x it is used as is,
    far off (measured under load, say) it is measured again and the cache file rewritten."""
    import parapolicy.planners.cost_model as cmod

    net = MLPDenoiser(16, 2, 8)
    cached = CostModel.measure(net, x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 2), repeats=1,
                               timing_fn=lambda b: 0.008 * b, cache_dir=tmp_path)  # written to the cache
    calls = []

    def fake_timing(per_row: float):
        return lambda *a: (lambda b: calls.append(b) or per_row * b)

    monkeypatch.setattr(cmod, "_real_timing", fake_timing(0.010))  # 1.25x the cached cost: it holds
    kept = CostModel.measure(net, x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 2), cache_dir=tmp_path)
    assert kept.latency_s == cached.latency_s and calls == [1, 1, 1, 1]  # one warm-up, three timed
    monkeypatch.setattr(cmod, "_real_timing", fake_timing(0.002))  # 4x cheaper now: stale
    fresh = CostModel.measure(net, x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 2), cache_dir=tmp_path)
    assert fresh.latency_s == {1: pytest.approx(0.002), 2: pytest.approx(0.004)}
    files = list((tmp_path / "cost_model").glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["latency_s"]["1"] == pytest.approx(0.002)
    # the check compares consecutive calls with the cached warm cost, not the cold one
    calls.clear()
    two_speed = CostModel(latency_s={1: 0.009, 2: 0.012}, warm_latency_s={1: 0.002, 2: 0.004},
                          steady_latency_s={1: 0.002, 2: 0.004}, key=fresh.key)
    two_speed.save(files[0])
    monkeypatch.setattr(cmod, "_real_timing", fake_timing(0.002))  # as warm as cached, 4.5x under the cold cost
    held = CostModel.measure(net, x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 2), cache_dir=tmp_path)
    assert held.latency_s == two_speed.latency_s and calls == [1, 1, 1, 1]


def test_real_measurement_and_overhead_on_this_cpu(tmp_path) -> None:
    net = MLPDenoiser(16, 2, 8, hidden=128)
    cm = CostModel.measure(net, x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 64), warmup=1, repeats=3,
                           cache_dir=tmp_path)
    assert cm.cost(64) >= cm.cost(1) > 0
    ov = cm.measure_overhead(SequentialSampler(schedules()["ddim"], steps=10), x_shape=(16, 2), cond_dim=8)
    assert ov > 0 and cm.overhead("sequential-10") == ov


def test_bad_measurements_rejected() -> None:
    with pytest.raises(ValueError, match="latency"):
        CostModel(latency_s={1: float("nan")})
    with pytest.raises(ValueError, match="at least one"):
        CostModel(latency_s={})
    with pytest.raises(ValueError, match="batch_sizes"):
        CostModel.measure(object(), x_shape=(1, 1), cond_dim=1, batch_sizes=(0,), timing_fn=cpu_like)


def test_real_timing_reuses_each_batch_sizes_inputs() -> None:
    """Fresh inputs before every timed call made warm calls look slower than a sampler's chain."""
    from parapolicy.planners.cost_model import _real_timing

    seen: list[tuple[torch.Tensor, ...]] = []

    def denoiser(x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        seen.append((x, t, cond))  # kept alive, so fresh inputs could not reuse their memory
        return x

    timing = _real_timing(denoiser, (16, 2), 8, 0.0, "cpu")
    assert timing(1) >= 0 and timing(1) >= 0 and timing(2) >= 0
    assert all(a is b for a, b in zip(seen[0], seen[1]))
    assert seen[2][0].shape == (2, 16, 2) and not any(a is b for a, b in zip(seen[0], seen[2]))


def test_an_unwritable_cache_still_returns_the_measurement(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.warns(RuntimeWarning, match="could not write the measurement cache"):
        model = CostModel.measure(lambda x, t, c: x, x_shape=(16, 2), cond_dim=8, batch_sizes=(1, 2),
                                  timing_fn=lambda b: 0.001 * b, cache_dir=blocker, fingerprint="unwritable")
    assert model.cost(2) == pytest.approx(0.002)


def test_a_routed_draft_prices_each_network_on_its_own_model() -> None:
    """A student's draft finished by the teacher: the calls above the handoff on the student's model,
    the rest on the teacher's, each network's first call cold and its later ones warm, one teacher
    overhead per call; a chain started below the handoff has no student call."""
    from parapolicy.planners.cost_model import predict_routed
    from parapolicy.planners.student_draft import draft_sampler, draft_sampler_at, finish_levels

    flow = schedules()["flow"]
    student = CostModel(latency_s={1: 1e-4, 4: 2e-4}, warm_latency_s={1: 0.5e-4, 4: 1e-4})
    teacher = CostModel(latency_s={1: 1e-3, 4: 2e-3}, warm_latency_s={1: 0.6e-3, 4: 1.2e-3},
                        overhead_s={"d": 1e-5})
    one = draft_sampler_at(flow, torch.tensor([1.0, 0.0]), finish_levels(flow, torch.tensor(0.05), 3), name="d")
    assert predict_routed(one, 0.05, student, teacher) == pytest.approx(1e-4 + 1e-3 + 2 * 0.6e-3 + 4 * 1e-5)
    assert predict_routed(one, 0.05, student, teacher, batch=4) == pytest.approx(2e-4 + 2e-3 + 2 * 1.2e-3 + 4e-5)
    assert predict_routed(one, 0.05, student, teacher, start_index=1) == pytest.approx(1e-3 + 2 * 0.6e-3 + 3e-5)
    two = draft_sampler(flow, torch.tensor([1.0, 0.5, 0.0]), 1, finish_levels(flow, torch.tensor(0.5), 1), name="d")
    assert predict_routed(two, 0.5, student, teacher) == pytest.approx(1e-4 + 1e-3 + 2e-5)
    # the teacher's own network as the student: two cold calls, not a cold and a warm one
    assert predict_routed(two, 0.5, teacher, teacher) == pytest.approx(2e-3 + 2e-5)
