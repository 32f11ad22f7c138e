"""Saved notebook outputs read well: no progress bars, warnings or machine paths (they become the docs).

Usage: python tests/notebook_outputs.py [--fix] [NOTEBOOK ...]   (default: every notebook under nbs/)
Lists each offending output (notebook, cell, what) and exits 1 if any. `--fix` rewrites the outputs in place:
what libraries print on stderr is dropped, progress-bar and warning lines are dropped from other text outputs, the temporary and environment folders of
the machine that ran the notebook are replaced by `<tmp>` and `<venv>`, and outputs left empty are removed.
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = re.compile(r'\|[█-]{3,}\| *\d+\.\d+%|\d+\.\d+% \[\d+/\d+|\d+%\|[#█▏▎▍▌▋▊▉ ]+\||^\s*█\s*$')  # fastprogress, tqdm
WARNING = re.compile(r'^\s*(?:\S+:\d+: )?\w*Warning\b|^\s*warnings\.warn\(')
PATHS = [(re.compile(r'/tmp/[A-Za-z0-9_.\-]+'), '<tmp>'), (re.compile(r'/(?:[\w.\-]+/)*\.venv/'), '<venv>/'),
         (re.compile(r'/work/[\w.\-]+/'), '<repo>/'), (re.compile(r'/root/[\w.\-/]+'), '<home>')]
PATH = re.compile(r'\.venv/|/tmp/|/work/|/root/')

def problems(text:str)->list:
    "What is wrong with one output's text."
    out = []
    for line in text.replace('\r', '\n').splitlines():
        if BAR.search(line): out.append('progress bar')
        if WARNING.search(line): out.append('warning')
        if PATH.search(line): out.append('machine path')
    return sorted(set(out))

def texts(o:dict):
    "The text parts of an output, as (key, text)."
    if 'text' in o: yield 'text', ''.join(o['text'])
    for k, v in o.get('data', {}).items():
        if k.startswith('text/'): yield k, ''.join(v)

def clean(text:str)->str:
    "The text without progress bars and warnings, with the machine's folders replaced."
    keep = [l for l in text.replace('\r\n', '\n').split('\n') if not BAR.search(l.split('\r')[-1]) and not WARNING.search(l)]
    keep = [l.split('\r')[-1] for l in keep]
    out = '\n'.join(keep)
    for pat, rep in PATHS: out = pat.sub(rep, out)
    return out

def check(path:Path, fix:bool=False)->list:
    "(cell, problem) pairs of a notebook; with `fix`, the outputs are cleaned and the notebook rewritten."
    nb = json.loads(path.read_text(encoding='utf-8'))
    found, changed = [], False
    for i, c in enumerate(nb['cells']):
        outs = []
        for o in c.get('outputs', []):
            bad = sorted({p for _, t in texts(o) for p in problems(t)})
            if bad and fix:
                if o.get('output_type') == 'stream' and o.get('name') == 'stderr': changed = True; continue  # library noise
                for k, t in list(texts(o)):
                    new = clean(t).splitlines(keepends=True)
                    if k == 'text': o['text'] = new
                    else: o['data'][k] = new
                changed = True
                if all(not ''.join(v) for _, v in texts(o)) and o.get('output_type') == 'stream': continue
                bad = sorted({p for _, t in texts(o) for p in problems(t)})
            found += [(i, p) for p in bad]
            outs.append(o)
        if 'outputs' in c: c['outputs'] = outs
    if fix and changed: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return found

if __name__ == '__main__':
    args = [a for a in sys.argv[1:] if a != '--fix']
    paths = [Path(a) for a in args] or sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '_proc' not in p.parts and '.ipynb_checkpoints' not in p.parts)
    bad = {p: f for p in paths if (f := check(p, '--fix' in sys.argv))}
    for p, f in bad.items():
        for i, what in sorted(set(f)): print(f"{p.relative_to(ROOT) if p.is_absolute() else p}: cell {i}: {what}")
    print(f"{len(paths)} notebooks, {len(bad)} with outputs that would not read well in the docs")
    sys.exit(1 if bad else 0)
