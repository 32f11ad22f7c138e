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
            times = {m[0]: int(m[1]) for m in re.findall(r'^(\S+\.ipynb): (\d+) secs', p.stdout + p.stderr, re.M)}
            return wall, times
        finally: subprocess.run(['git', '-C', str(ROOT), 'worktree', 'remove', '--force', str(tree)], capture_output=True)

if __name__ == '__main__':
    revs = [sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else 'HEAD']
    results = {r: suite_time(r) for r in revs}
    for r, (wall, times) in results.items():
        top = ', '.join(f"{n} {s}" for n, s in sorted(times.items(), key=lambda x: -x[1])[:5])
        print(f"{r:>10}: {wall:5.0f} s wall, {len(times)} notebooks, sum {sum(times.values())} s; slowest: {top}")
    (w0, _), (w1, _) = results[revs[0]], results[revs[1]]
    print(f"ratio {revs[1]}/{revs[0]}: {w1/w0:.2f}")
