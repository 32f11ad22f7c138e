"""How fast does every console command answer `--help`?

DESIGN.md promises that `--help` answers at once (heavy imports after argument parsing). This times
`<command> --help` for every entry of settings.ini `console_scripts`, each in a fresh process (cold
interpreter; the OS file cache is warm after the first try), median of 3, and flags those over 1 s.
With `--why` it also runs `python -X importtime -c "import <module>"` for each command's module and lists
the packages whose import costs the most, i.e. what to move after argument parsing.

    python bench/cli_help.py            # the table
    python bench/cli_help.py --why      # and the heaviest imports behind each slow command
"""
import argparse, configparser, os, re, shutil, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def console_scripts(settings=ROOT/'settings.ini'):
    "name -> 'module:function' for each console command in settings.ini."
    cfg = configparser.ConfigParser(); cfg.read(settings)
    out = {}
    for line in cfg['DEFAULT'].get('console_scripts', '').split('\n'):
        if '=' in line: name, target = (s.strip() for s in line.split('=', 1)); out[name] = target
    return out


def help_command(name, target):
    "The installed command when on PATH (what users run), else the same entry point through this Python."
    exe = shutil.which(name) or (str(Path(sys.executable).parent/name) if (Path(sys.executable).parent/name).exists() else None)
    if exe: return [exe, '--help']
    mod, fn = target.split(':')
    return [sys.executable, '-c', f"import sys; sys.argv = [{name!r}, '--help']; from {mod} import {fn}; {fn}()"]


def time_help(cmd, repeat=3, timeout=120):
    "Median wall time of `cmd` over `repeat` fresh processes, and the last exit status."
    times, rc = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout, env=os.environ | {'PYTHONWARNINGS': 'ignore'})
        times.append(time.perf_counter() - t); rc = p.returncode
    return statistics.median(times), rc


def heaviest_imports(module, top=6):
    "The top-level packages whose import costs most when importing `module`: [(package, seconds)]."
    p = subprocess.run([sys.executable, '-X', 'importtime', '-c', f'import {module}'], capture_output=True, text=True,
                       env=os.environ | {'PYTHONWARNINGS': 'ignore'})
    cum, total = {}, 0.0
    for line in p.stderr.splitlines():
        m = re.match(r'import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)', line)
        if not m: continue
        name, secs = m.group(4), int(m.group(2))/1e6
        if name == module: total = secs
        root = name.split('.')[0]  # a package's cost: its costliest import (these overlap: fastai's includes torch)
        if root != 'rakuten': cum[root] = max(cum.get(root, 0), secs)
    return sorted(cum.items(), key=lambda kv: -kv[1])[:top], total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=3, help='fresh processes per command (median reported)')
    ap.add_argument('--limit', type=float, default=1.0, help='flag commands slower than this many seconds')
    ap.add_argument('--why', action='store_true', help='also list the heaviest imports of each slow command')
    args = ap.parse_args()
    scripts = console_scripts()
    rows = []
    print(f"{'command':<22} {'--help (s)':>10}  {'rc':>3}  module")
    for name, target in scripts.items():
        secs, rc = time_help(help_command(name, target), args.repeat)
        rows.append((name, target, secs, rc))
        flag = '  SLOW' if secs > args.limit else ''
        print(f"{name:<22} {secs:>10.2f}  {rc:>3}  {target}{flag}", flush=True)
    slow = [r for r in rows if r[2] > args.limit]
    print(f"\n{len(slow)} of {len(rows)} commands take over {args.limit:g} s to answer --help"
          f" (median of {args.repeat} fresh processes, python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    if args.why:
        for name, target, secs, rc in (slow or rows):
            mod = target.split(':')[0]
            others, total = heaviest_imports(mod)
            print(f"\n{name}: import {mod} = {total:.2f} s; heaviest packages (cumulative import time, s):")
            print('  ' + ', '.join(f"{k} {v:.2f}" for k, v in others))
    return 1 if any(r[3] not in (0,) for r in rows) else 0


if __name__ == '__main__': sys.exit(main())
