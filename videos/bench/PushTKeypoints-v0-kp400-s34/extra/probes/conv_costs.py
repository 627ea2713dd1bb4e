"""Batch-1 cost of single Conv1d layers of the U-Net's shapes, traced, against an unfold + matmul
(stop 34). Output: conv_costs.out.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s34/extra/probes/conv_costs.py
"""
import time, torch
torch.set_num_threads(1)
def T(f, n=5000):
    for _ in range(200): f()
    a = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter()-a)/n*1e6
with torch.no_grad():
    for cin, cout, L, k in [(8,8,4,5),(32,32,16,5),(64,64,8,5),(128,128,4,5),(256,64,4,5),(128,128,4,1),(128,32,4,5),(32,128,4,1)]:
        c = torch.nn.Conv1d(cin, cout, k, padding=k//2).eval(); x = torch.randn(1, cin, L)
        tc = torch.jit.freeze(torch.jit.trace(c, (x,)))
        w = c.weight.reshape(cout, -1); 
        un = lambda: torch.nn.functional.unfold(x[..., None], (k,1), padding=(k//2,0))
        print(cin, cout, L, k, f"conv {T(lambda: tc(x)):.1f} us", f"unfold+mm {T(lambda: torch.addmm(c.bias[:,None], w, un()[0])):.1f} us", f"MAC {cin*cout*k*L/1e3:.0f}k")
