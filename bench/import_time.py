"""How long importing the package takes, in a fresh interpreter each time (median of 5; the OS file cache warm after the first).

    python bench/import_time.py

Rows: `import rakuten.all` (names only: the modules load on first use), `from rakuten.all import *` (the main modules,
with PyTorch and fastai), and the lowest layers alone. The target for `import rakuten.all` is 4 s cold on a 2-core machine.
"""
import statistics, subprocess, sys, time

STATEMENTS = ['import rakuten', 'import rakuten.all', 'import rakuten.core', 'import rakuten.data', 'import rakuten.model',
              'from rakuten.all import *']

def timed(stmt:str, repeat:int=5)->float:
    "Median seconds of a fresh `python -c stmt`."
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, '-c', stmt], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)

if __name__ == '__main__':
    base = timed('pass')
    print(f"{'statement':<28} {'seconds':>8}  (python itself: {base:.2f} s)")
    for s in STATEMENTS: print(f"{s:<28} {timed(s):8.2f}")
