"""How fast the sample recipe's saved ensemble classifies products: its k fold models per member, the same refitted
(one model per member), and each member's model alone — side by side in one run, on the same prepared test rows.

The recipe is trained here on a generated sample (k folds and a refit), then every model is loaded from disk as
`rakuten_predict` and `rakuten_serve` load it, warmed up on a few rows, and timed over the rows several times
(the median is kept). Expect the k-fold ensemble to cost about k times the refitted one, and the refitted one about
the members' costs added up.

Usage: python bench/ensemble_speed.py [--n 600] [--folds 5] [--rows 512] [--repeats 3]
"""
import argparse, shutil, statistics, tempfile, time
from pathlib import Path
import pandas as pd

def rate(model, rows:pd.DataFrame, repeats:int)->float:
    "Products per second of `model.predict(rows)`: the median of `repeats` timings after a warm-up."
    model.predict(rows.head(32))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.predict(rows)
        times.append(time.perf_counter() - t)
    return len(rows)/statistics.median(times)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--n', type=int, default=600, help='labelled products of the generated sample')
    ap.add_argument('--folds', type=int, default=5, help='folds of the recipe (the leaderboard recipe has 5)')
    ap.add_argument('--rows', type=int, default=512, help='products predicted per timing (test rows, repeated)')
    ap.add_argument('--repeats', type=int, default=3, help='timings per model (the median is kept)')
    a = ap.parse_args()
    from rakuten.core import Workspace
    from rakuten.console import use_progress, log_bars
    use_progress(log_bars(quiet=True))  # the timings, not the training's progress
    from rakuten.sample import make_sample
    from rakuten.pipeline import run_recipe
    from rakuten.model import load_model
    from rakuten.fusion import Ensemble
    tmp = Path(tempfile.mkdtemp(prefix='rakuten-bench-ensemble-'))
    try:
        make_sample(tmp/'data', n=a.n, img_size=96)
        ws = Workspace(tmp/'ws')
        run_recipe(tmp/'data', ws, 'sample', folds=a.folds, refit=True, translate=False, n_workers=2)
        products = pd.read_parquet(ws.processed/'products.parquet')
        test = products[products.split == 'test']
        rows = pd.concat([test]*(a.rows//len(test) + 1)).head(a.rows)
        refit = load_model(ws.models/'ensemble')
        root, names = ws.models/'ensemble', list(refit.members)
        kfold = Ensemble({n: sorted(root.joinpath(n).glob('fold*/model')) for n in names}, refit.stack, tta=refit.tta)
        alone = {n: load_model(root/n/'full'/'model') for n in names}
        res = {f'ensemble, {a.folds} fold models per member + stack': rate(kfold, rows, a.repeats),
               'ensemble refitted, one model per member + stack': rate(refit, rows, a.repeats)}
        res |= {f'  member {n} alone': rate(m, rows, a.repeats) for n, m in alone.items()}
        res['  members alone, one after the other'] = 1/sum(1/res[f'  member {n} alone'] for n in names)
        print(f"\n{len(rows)} products, sample recipe ({', '.join(names)}), {a.folds} folds, median of {a.repeats}")
        for k, v in res.items(): print(f"{k:<58} {v:9.1f} products/s")
        print(f"k-fold / refit: {res[next(iter(res))]/res[list(res)[1]]:.2f} of the speed (expected about 1/{a.folds})")
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
