"""How every stage's cost grows with the number of products: time, peak memory and disk, at several sizes, in one run.

Usage: python bench/scale.py [--sizes 5000 20000] [--full] [--folds 5] [--img_size 224] [--keep DIR]

For each size N it writes N labelled products (+ 16 % unlabelled test rows) at real size — 500 px photos, titles
and HTML descriptions with the real files' lengths (35 % missing, the rest log-normal around 600 characters, up to
12,000) — and runs, each stage in its own process so that its peak resident memory is its own:
prepare (photos at --img_size, no translation), the TF-IDF member, a small image member (ResNet-18 at 32 px, one
epoch), a 5-fold stack of the two (10 models and the stack, as `rakuten_pipeline --recipe`), label issues
(cleanlab on 5-fold TF-IDF probabilities) and prediction of the test and unlabelled rows with the saved ensemble.
It prints per stage the seconds, the peak RSS and the disk written, and the growth exponent k between sizes
(time ∝ N^k), with the extrapolation to the challenge's 98,728 products. `--full` adds N = 98,728 itself.
"""
import argparse, json, math, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
import pandas as pd

STAGES = ('sample', 'prepare', 'tfidf', 'image', 'stack', 'label_issues', 'predict')
REAL_N = 98_728

def du(path):
    "Bytes under a folder."
    return sum(f.stat().st_size for f in Path(path).rglob('*') if f.is_file()) if Path(path).exists() else 0

def real_lengths(data, seed=0):
    "Descriptions as long as the real files': 35 % missing, log-normal lengths around 600 characters, HTML breaks."
    rng = np.random.default_rng(seed)
    for name in ('X_train_update.csv', 'X_test_update.csv'):
        x = pd.read_csv(data/name, index_col=0)
        target = np.clip(rng.lognormal(math.log(600), 1.1, len(x)), 1, 12_000).astype(int)
        missing = rng.random(len(x)) < 0.35
        def grow(d, n):
            if not isinstance(d, str) or not d: d = 'Description du produit.'
            parts = [d]
            while sum(map(len, parts)) < n: parts.append(f"<br />{d}")
            return ''.join(parts)[:max(n, 1)]
        x['description'] = [None if m else grow(d, n) for d, n, m in zip(x.description, target, missing)]
        x.index.name = None
        x.to_csv(data/name)

def stage(name, n, root, folds, img_size):
    "Run one stage in this process (called by the driver in a child process)."
    import warnings; warnings.filterwarnings('ignore')
    from rakuten.core import Workspace
    from rakuten.console import use_progress, QuietMasterBar, QuietProgressBar
    use_progress((QuietMasterBar, QuietProgressBar))
    root = Path(root); data, ws = root/'data', Workspace(root/'ws')
    members = {'tfidf': {'kind': 'tfidf'},
               'resnet18': {'kind': 'vision', 'arch': 'resnet18', 'img_size': 32, 'epochs': 1, 'bs': 64, 'pretrained': False}}
    products = lambda: pd.read_parquet(ws.processed/'products.parquet')
    labelled = lambda p, s: p[p.split == s].assign(prdtypecode=lambda d: d.prdtypecode.astype(int))
    if name == 'sample':
        from rakuten.sample import make_sample
        make_sample(data, n=n, img_size=500)
        real_lengths(data)
    elif name == 'prepare':
        from rakuten.prepare import prepare
        prepare(data, ws, img_size=img_size, translate=False)
    elif name == 'tfidf':
        from rakuten.text.tfidf import TfidfModel
        p = products()
        TfidfModel().fit(labelled(p, 'train')).predict(labelled(p, 'test'))
    elif name == 'image':
        from rakuten.vision.learner import VisionModel
        p = products()
        m = VisionModel('resnet18', 32, pretrained=False).fit(labelled(p, 'train'), labelled(p, 'valid'), epochs=1, bs=64)
        m.predict(labelled(p, 'test'))
    elif name == 'stack':
        from rakuten.ensemble import load_recipe, fit_members, stack_and_report
        r = load_recipe({'name': 'scale', 'folds': folds, 'members': members})
        p = products()
        stack_and_report(p, *fit_members(p, ws, r), ws, r)
    elif name == 'label_issues':
        from rakuten.label_issues import oof_probs, find_label_issues
        p = products()
        find_label_issues(p, oof_probs(p, ws, folds=folds))
    elif name == 'predict':
        from rakuten.predict import Predictor
        p = products()
        Predictor.from_folder(ws.models/'ensemble').predict(p[p.split.isin(['test', 'submission'])], prepared=True)

def run_stage(name, n, root, folds, img_size):
    "A stage in a child process: seconds, its own peak RSS, disk written."
    before = du(root)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, '--stage', name, '--n', str(n), '--root', str(root), '--folds', str(folds),
                             '--img_size', str(img_size)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if status != 0: raise SystemExit(f"stage {name} at N={n} failed:\n{out[-3000:]}")
    return dict(seconds=seconds, peak_gb=usage.ru_maxrss*1024/1e9, disk_gb=(du(root) - before)/1e9)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[5000, 20000], help='labelled products per run')
    ap.add_argument('--full', action='store_true', help=f'also run N = {REAL_N:,}')
    ap.add_argument('--folds', type=int, default=5)
    ap.add_argument('--img_size', type=int, default=224, help='photos prepared at this size')
    ap.add_argument('--keep', default=None, help='keep the data and workspaces under this folder')
    ap.add_argument('--stage', default=None, help=argparse.SUPPRESS)
    ap.add_argument('--n', type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument('--root', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stage: return stage(a.stage, a.n, a.root, a.folds, a.img_size)
    sizes = sorted(set(a.sizes + ([REAL_N] if a.full else [])))
    base = Path(a.keep or tempfile.mkdtemp(prefix='rakuten-scale-'))
    rows = []
    for n in sizes:
        root = base/f'n{n}'
        shutil.rmtree(root, ignore_errors=True); root.mkdir(parents=True)
        for s in STAGES:
            r = run_stage(s, n, root, a.folds, a.img_size)
            rows.append(dict(n=n, stage=s, **r))
            print(f"N={n:>6} {s:<13} {r['seconds']:8.1f} s  peak {r['peak_gb']:5.2f} GB  disk {r['disk_gb']:+6.2f} GB", flush=True)
        if not a.keep: shutil.rmtree(root, ignore_errors=True)
    t = pd.DataFrame(rows)
    table = t.pivot(index='stage', columns='n', values=['seconds', 'peak_gb', 'disk_gb']).reindex(STAGES)
    lo, hi = sizes[0], sizes[-1]
    k = np.log(table['seconds'][hi]/table['seconds'][lo])/np.log(hi/lo)
    table[('growth exponent k', f'{lo}->{hi}')] = k
    if hi < REAL_N:
        table[('seconds', f'{REAL_N} (extrapolated)')] = table['seconds'][hi]*(REAL_N/hi)**k
        km = np.log(table['peak_gb'][hi]/table['peak_gb'][lo])/np.log(hi/lo)
        table[('peak_gb', f'{REAL_N} (extrapolated)')] = table['peak_gb'][hi]*(REAL_N/hi)**km
        d_lo, d_hi = table['disk_gb'][lo].clip(lower=1e-9), table['disk_gb'][hi].clip(lower=1e-9)
        kd = (np.log(d_hi/d_lo)/np.log(hi/lo)).clip(lower=0, upper=1)  # saved models do not grow with N, photos do
        table[('disk_gb', f'{REAL_N} (extrapolated)')] = table['disk_gb'][hi]*(REAL_N/hi)**kd
    pd.set_option('display.width', 250)
    print(f"\n{os.cpu_count()} cores; photos prepared at {a.img_size} px; {a.folds} folds\n")
    print(table.round(2).to_string())
    out = base/'scale.json'
    out.write_text(json.dumps({'cores': os.cpu_count(), 'img_size': a.img_size, 'folds': a.folds, 'rows': rows}, indent=1))
    print(f"\n-> {out}")

if __name__ == '__main__': main()
