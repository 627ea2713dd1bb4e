"""``conv_tuning``: the band rule on synthetic timings, per-layer signatures from the example's
lengths, and the per-machine cache (reused, merged, rebuilt when unreadable)."""
from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

from parapolicy.policies import conv_tuning
from parapolicy.policies.conv_tuning import cache_path, decide_band, input_lengths, signature, tuned_bands
from parapolicy.policies.matmul_conv import swap_convs


@pytest.mark.parametrize("times,band", [
    ({1: (1.0, 2.0), 2: (4.0, 1.0), 4: (4.0, 2.0), 8: (4.0, 5.0), 16: (4.0, 1.0)}, (2, 4)),  # a later win is cut off
    ({1: (1.0, 0.5), 2: (1.0, 0.5)}, (1, 2)),
    ({1: (1.0, 0.95), 2: (1.0, 0.92)}, None),  # within the 10% margin: the library keeps it
    ({1: (1.0, 3.0), 2: (1.0, 3.0)}, None),
    ({4: (2.0, 1.0), 1: (1.0, 2.0), 2: (1.0, 2.0)}, (4, 4)),  # order of the mapping does not matter
])
def test_the_band_is_the_first_run_of_clear_wins(times, band) -> None:
    assert decide_band(times) == band


class _Net(nn.Module):
    """Two convolutions on a sequence halved in between, and one never reached."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv1d(3, 8, 3, padding=1)
        self.down = nn.Conv1d(8, 8, 3, stride=2, padding=1)
        self.b = nn.Conv1d(8, 8, 3, padding=1)
        self.unused = nn.Conv1d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.down(self.a(x)))


def test_lengths_come_from_the_example_and_signatures_tell_layers_apart() -> None:
    net = _Net()
    lengths = input_lengths(net, (torch.randn(1, 3, 12),))
    assert lengths == {"a": 12, "down": 12, "b": 6}
    assert signature(net.b, 6) != signature(net.b, 12) != signature(net.down, 12)
    assert net(torch.randn(2, 3, 12)).shape == (2, 8, 6)  # the hooks are gone and left outputs alone


def test_each_signature_is_timed_once_and_the_cache_is_reused(tmp_path) -> None:
    net = _Net()
    example = (torch.randn(1, 3, 12),)
    timed = []

    def timing(conv: nn.Conv1d, length: int, batch: int) -> tuple[float, float]:
        timed.append((conv.stride[0], length, batch))
        return (1.0, 0.5) if conv.stride[0] == 2 or batch <= 2 else (1.0, 2.0)  # strided: always faster

    swapped, n = swap_convs(net, band=tuned_bands(net, example, cache_dir=tmp_path, timing=timing,
                                                  batches=(1, 2, 4)))
    assert n == 3 and len(timed) == 9  # three layers reached, three batch sizes each; `unused` is left alone
    assert (swapped.down.min_batch, swapped.down.max_batch) == (1, 4)
    assert (swapped.a.min_batch, swapped.a.max_batch) == (1, 2)
    assert isinstance(swapped.unused, nn.Conv1d)
    stored = json.loads(cache_path(tmp_path).read_text())["bands"]
    assert stored[signature(net.down, 12)] == [1, 4]
    x = torch.randn(3, 3, 12)
    with torch.no_grad():
        torch.testing.assert_close(swapped(x), net(x), atol=1e-5, rtol=1e-5)
    conv_tuning._memory.clear()  # a new process: only the file remains
    again = tuned_bands(_Net(), example, cache_dir=tmp_path, timing=lambda *a: pytest.fail("timed again"),
                        batches=(1, 2, 4))
    assert again("down", net.down) == (1, 4)


def test_an_unreadable_cache_is_timed_again_and_rewritten(tmp_path) -> None:
    path = cache_path(tmp_path / "other")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    net = _Net()
    band = tuned_bands(net, (torch.randn(1, 3, 12),), cache_dir=tmp_path / "other",
                       timing=lambda conv, length, batch: (1.0, 3.0), batches=(1, 2))
    assert band("a", net.a) is None
    assert json.loads(path.read_text())["bands"] == {signature(net.a, 12): None}


def test_an_unwritable_cache_costs_a_warning_not_the_trace(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")  # the cache folder would have to be created inside a file
    net = _Net()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        band = tuned_bands(net, (torch.randn(1, 3, 12),), cache_dir=blocker,
                           timing=lambda conv, length, batch: (1.0, 0.5), batches=(1, 2))
        assert band("a", net.a) == (1, 2)
        assert band("b", net.b) == (1, 2)  # a second new layer, the same file
    said = [w for w in seen if "could not write the measurement cache" in str(w.message)]
    assert len(said) == 1 and said[0].category is RuntimeWarning  # one warning per file, not per layer
    assert blocker.read_text() == "not a folder"


def test_transposed_layers_are_measured_under_their_own_signature() -> None:
    net = nn.Sequential(nn.Conv1d(3, 8, 3, padding=1), nn.ConvTranspose1d(8, 8, 4, stride=2, padding=1))
    lengths = input_lengths(net, (torch.randn(1, 3, 6),))
    assert lengths == {"0": 6, "1": 6}
    assert signature(net[1], 6).startswith("t8-8-k4-s2-p1")
    seen = []

    def timing(conv: nn.Module, length: int, batch: int) -> tuple[float, float]:
        seen.append(type(conv))
        return 1.0, 0.5

    band = tuned_bands(net, (torch.randn(1, 3, 6),), timing=timing, batches=(1, 2))
    swapped, n = swap_convs(net, band=band)
    assert n == 2 and seen.count(nn.ConvTranspose1d) == 2
    x = torch.randn(2, 3, 6)
    with torch.no_grad():
        torch.testing.assert_close(swapped(x), net(x), atol=1e-5, rtol=1e-5)
