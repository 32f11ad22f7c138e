"""Latency and throughput of `rakuten_serve` (POST /predict) at 1, 8 and 32 concurrent clients, beside calling the model directly.

Usage: python bench/serve_latency.py [--workspace WS] [--model PATH] [--requests 160] [--clients 1 8 32]

Without --workspace, the main job runs first on the embedded sample in a temporary workspace (its CPU budget, about a
minute), removed at the end. The server is the real one: `rakuten_serve --no_page` in its own process, uvicorn on
127.0.0.1. Each client sends one product at a time (title, description, photo as base64 JSON — photos of the sample's
X_test) and waits for its answer; a level sends `--requests` requests in all (at least 4 per client) after a warm-up.
"Direct" calls `Predictor.predict_parts` in this process on the same products, one at a time and in batches of 32 (the
ceiling the server's dynamic batching can approach). Time it alone: the two vCPUs of these machines are one core's two
threads.
"""
import argparse, asyncio, base64, os, socket, subprocess, sys, tempfile, time
from pathlib import Path
import httpx, numpy as np, pandas as pd

def products(ws, n):
    "n products of the sample's X_test with their photos: raw rows, and JSON bodies."
    data = ws.raw/'sample'
    x = pd.read_csv(data/'X_test_update.csv', index_col=0)
    x = x.iloc[np.arange(n) % len(x)]
    rows = pd.DataFrame({'designation': x.designation.to_numpy(), 'description': x.description.fillna('').to_numpy(),
                         'image': [str(data/'images'/'image_test'/f'image_{r.imageid}_product_{r.productid}.jpg') for r in x.itertuples()]})
    bodies = [{'designation': r.designation, 'description': r.description, 'image': base64.b64encode(Path(r.image).read_bytes()).decode()}
              for r in rows.itertuples()]
    return rows, bodies

async def level(url, bodies, clients, n):
    "n requests from `clients` concurrent clients: latencies (s) and wall time (s)."
    todo, lat = list(range(n)), []
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=clients)) as c:
        async def client():
            while todo:
                i = todo.pop(); t0 = time.perf_counter()
                r = await c.post('/predict', json=bodies[i % len(bodies)]); r.raise_for_status()
                lat.append(time.perf_counter() - t0)
        await asyncio.gather(*[client() for _ in range(min(clients, 4))])  # warm-up
        lat.clear(); todo[:] = range(n); t0 = time.perf_counter()
        await asyncio.gather(*[client() for _ in range(clients)])
        return np.array(lat), time.perf_counter() - t0

def start_server(model, ws):
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    proc = subprocess.Popen(['rakuten_serve', '--model', str(model), '--workspace', str(ws.root), '--port', str(port), '--no_page', '--quiet'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f'http://127.0.0.1:{port}'
    for _ in range(600):
        if proc.poll() is not None: sys.exit(f"rakuten_serve stopped: {proc.stdout.read()[-2000:]}")
        try:
            if httpx.get(url + '/health', timeout=2).status_code == 200: return proc, url
        except httpx.HTTPError: time.sleep(0.2)
    proc.terminate(); sys.exit('rakuten_serve did not answer /health within 120 s')

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workspace', default=None)
    ap.add_argument('--model', default=None, help='a model folder (default: the best one the workspace trained)')
    ap.add_argument('--requests', type=int, default=160, help='requests per concurrency level')
    ap.add_argument('--clients', type=int, nargs='+', default=[1, 8, 32])
    a = ap.parse_args()
    from rakuten.core import Workspace
    if a.workspace: return measure(a, Workspace(a.workspace))
    with tempfile.TemporaryDirectory(prefix='rakuten-bench-') as tmp:  # the sample's workspace, removed after
        from rakuten.pipeline import run_pipeline
        ws = Workspace(tmp)
        run_pipeline(None, ws, budget='sample', translate=False)
        measure(a, ws)

def measure(a, ws):
    "The server's and the model's latencies and throughputs, printed."
    from rakuten.predict import Predictor, best_model
    model = Path(a.model) if a.model else best_model(ws)
    rows, bodies = products(ws, max(a.requests, 64))
    out = []
    proc, url = start_server(model, ws)
    try:
        for c in a.clients:
            n = max(a.requests, 4*c)
            lat, wall = asyncio.run(level(url, bodies, c, n))
            out.append(dict(way='server, POST /predict', clients=c, requests=n, p50_ms=1000*np.median(lat), p95_ms=1000*np.quantile(lat, 0.95), products_s=n/wall))
    finally: proc.terminate(); proc.wait(30)
    pred = Predictor.from_folder(model)
    pred.predict_parts(rows.iloc[:8])  # warm-up
    one = []
    for i in range(min(len(rows), 48)):
        t0 = time.perf_counter(); pred.predict_parts(rows.iloc[i:i+1]); one.append(time.perf_counter() - t0)
    one = np.array(one)
    out.append(dict(way='direct, one product a call', clients=1, requests=len(one), p50_ms=1000*np.median(one), p95_ms=1000*np.quantile(one, 0.95), products_s=len(one)/one.sum()))
    t0 = time.perf_counter(); nb = 0
    for s in range(0, len(rows), 32): pred.predict_parts(rows.iloc[s:s+32]); nb += 1
    wall = time.perf_counter() - t0
    out.append(dict(way='direct, 32 products a call', clients=1, requests=len(rows), p50_ms=1000*wall/nb, p95_ms=float('nan'), products_s=len(rows)/wall))
    df = pd.DataFrame(out).round(1)
    print(f"model {model.name} ({pred.model.config['kind']}), {os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(df.to_string(index=False))
    srv = df[df.way.str.startswith('server')].set_index('clients').products_s
    if 1 in srv.index and len(srv) > 1:
        print(f"server products/s at {srv.index.max()} clients = {srv.iloc[-1]/srv[1]:.1f}x the rate at 1 client (target >= 3x)")

if __name__ == '__main__': main()
