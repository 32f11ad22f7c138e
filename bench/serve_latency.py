"""Latency of the web API for one product: text + photo + fusion, and with Grad-CAM, on the CPU of this machine.

Usage: python bench/serve_latency.py [--workspace WS] [--n 50]

Without --workspace, the main job runs first on the embedded sample in a temporary workspace (its CPU budget,
about a minute). Requests go over HTTP to uvicorn on 127.0.0.1, one at a time, each with a photo of the
sample's X_test; the first few are warm-up.
"""
import argparse, statistics, tempfile, time
from pathlib import Path
import httpx, pandas as pd

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workspace', default=None)
    ap.add_argument('--n', type=int, default=50)
    a = ap.parse_args()
    from rakuten.core import Workspace
    from rakuten.serve import make_app, serve_in_thread
    ws = Workspace(a.workspace or tempfile.mkdtemp(prefix='rakuten-bench-'))
    if not a.workspace:
        from rakuten.pipeline import run_pipeline
        run_pipeline(None, ws, budget='sample', translate=False)
    data = ws.raw/'sample'
    x = pd.read_csv(data/'X_test_update.csv', index_col=0)
    items = [(r.designation, r.description if isinstance(r.description, str) else '',
              (data/'images'/'image_test'/f'image_{r.imageid}_product_{r.productid}.jpg').read_bytes()) for r in x.head(a.n + 5).itertuples()]
    server, url = serve_in_thread(make_app(ws))
    def timed(gradcam, k):
        out = []
        with httpx.Client(timeout=60) as c:
            for t, d, img in items[:k]:
                t0 = time.perf_counter()
                r = c.post(url + '/predict', data={'designation': t, 'description': d, 'gradcam': '1' if gradcam else ''},
                           files={'image': ('p.jpg', img, 'image/jpeg')})
                r.raise_for_status(); out.append(1000*(time.perf_counter() - t0))
        return out[5:] if len(out) > 5 else out
    plain, cam = timed(False, a.n + 5), timed(True, min(a.n, 20) + 5)
    q = lambda v, p: sorted(v)[int(p*(len(v) - 1))]
    print(f"one product over HTTP, {len(plain)} requests: text + photo + fusion median {statistics.median(plain):.0f} ms, "
          f"p90 {q(plain, 0.9):.0f} ms; with Grad-CAM median {statistics.median(cam):.0f} ms ({len(cam)} requests)")
    server.should_exit = True

if __name__ == '__main__': main()
