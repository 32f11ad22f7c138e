"""The test suite's time at two revisions, side by side in one run: `nbdev_test --timing` (as CI runs it, one math
thread per notebook) on a clean worktree of each, the package imported from that worktree.

Usage: python bench/test_time.py OLD_REV [NEW_REV]   (NEW_REV: default HEAD)
Prints each revision's wall time and its slowest notebooks. Run it alone: two notebooks run at once on 2 cores.
"""
import os, re, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def suite_time(rev:str)->tuple:
    "Wall seconds of `nbdev_test` on a worktree of `rev`, and {notebook: seconds}."
    with tempfile.TemporaryDirectory() as d:
        tree = Path(d)/'tree'
        subprocess.run(['git', '-C', str(ROOT), 'worktree', 'add', '--detach', str(tree), rev], check=True, capture_output=True)
        try:
            env = {**os.environ, 'PYTHONPATH': str(tree), 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
            t0 = time.perf_counter()
            p = subprocess.run(['nbdev_test', '--timing'], cwd=tree, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if p.returncode: print(f"{rev}: nbdev_test failed\n{p.stderr[-2000:]}")
            times = {m[0]: int(m[1]) for m in re.findall(r'(\S+\.ipynb): (\d+) secs', p.stdout + p.stderr)}
            return wall, times
        finally: subprocess.run(['git', '-C', str(ROOT), 'worktree', 'remove', '--force', str(tree)], capture_output=True)

if __name__ == '__main__':
    revs = [sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else 'HEAD']
    results = {r: suite_time(r) for r in revs}
    for r, (wall, times) in results.items():
        print(f"{r:>10}: {wall:5.0f} s wall, {len(times)} notebooks, sum {sum(times.values())} s")
    (w0, t0), (w1, t1) = results[revs[0]], results[revs[1]]
    for nb in sorted(set(t0) | set(t1), key=lambda n: -max(t0.get(n, 0), t1.get(n, 0))):
        if max(t0.get(nb, 0), t1.get(nb, 0)) >= 10: print(f"  {nb:<28} {t0.get(nb, '-'):>5} {t1.get(nb, '-'):>5}")
    print(f"ratio {revs[1]}/{revs[0]}: {w1/w0:.2f} (the one run second pays for the machine's warm-up drift: run both orders)")
