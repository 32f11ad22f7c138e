"""How the notebooks read, in numbers: the exported cells' length, definitions per cell, line width, `;`, and the
length of each page's one-line description. Run on any nbdev repository's notebooks to compare.

Usage: python bench/notebook_style.py [NBS_FOLDER ...]   (default: nbs)
"""
import ast, json, re, sys
from pathlib import Path
import numpy as np

def exported_cells(nb_path):
    "The source of every exported code cell of a notebook."
    cells = json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']
    for c in cells:
        src = ''.join(c['source'])
        if c['cell_type'] == 'code' and re.match(r'\s*#\|\s*export', src): yield src

def description(nb_path):
    "The page's `> summary` line, or None."
    for c in json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']:
        if c['cell_type'] == 'markdown':
            m = re.search(r'^> (.+)$', ''.join(c['source']), re.M)
            if m: return m.group(1)
    return None

def definitions(src):
    "Top-level functions and classes a cell defines."
    try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith('#|')))
    except SyntaxError: return 0
    return sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body)

def figures(folders):
    "The style figures of the notebooks under `folders`."
    nbs = [p for f in folders for p in sorted(Path(f).rglob('*.ipynb')) if '.ipynb_checkpoints' not in str(p) and not p.name.startswith('_')]
    cells = [s for nb in nbs for s in exported_cells(nb)]
    lines = [l for s in cells for l in s.splitlines() if l.strip() and not l.lstrip().startswith('#|')]
    lens = [len(s.strip('\n').splitlines()) for s in cells]  # every line, `#| export` and blank ones included: the strictest count
    descs = [d for nb in nbs if (d := description(nb))]
    return {'notebooks': len(nbs), 'exported cells': len(cells),
            'lines per exported cell, median': float(np.median(lens)), 'lines per exported cell, 90th percentile': float(np.percentile(lens, 90)),
            'exported cells with 3+ definitions (%)': 100*np.mean([definitions(s) >= 3 for s in cells]),
            'mean code-line width': float(np.mean([len(l) for l in lines])),
            'lines over 120 characters (%)': 100*np.mean([len(l) > 120 for l in lines]),
            'lines with ; (%)': 100*np.mean([';' in l for l in lines]),  # anywhere: code, strings or comments
            'description length, median': float(np.median([len(d) for d in descs])) if descs else float('nan')}

if __name__ == '__main__':
    for k, v in figures(sys.argv[1:] or ['nbs']).items(): print(f"{k:<45} {v:8.1f}" if isinstance(v, float) else f"{k:<45} {v:8}")
