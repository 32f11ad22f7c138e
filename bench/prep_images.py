"""Image preprocessing speed: `rakuten.vision.preprocess` against a plain loop, side by side, in one run.

Usage: python bench/prep_images.py [--n 600] [--size 224] [--workers N]

Both sides read the same generated 500x500 JPEGs and write 224 px JPEGs. The plain loop is the one written
first: PIL open -> NumPy bounding box -> pad square -> LANCZOS resize -> save, one image at a time.
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
import numpy as np
from PIL import Image
from rakuten.sample import make_sample
from rakuten.data import load_products
from rakuten.vision.preprocess import ImagePrep, preprocess_images, _prep_one

def plain_prep(src, dest, size=224, thresh=240):
    img = Image.open(src).convert('RGB')
    a = np.asarray(img)
    ys, xs = np.where((a < thresh).any(-1))
    if len(xs): img = img.crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    side = max(img.size)
    sq = Image.new('RGB', (side, side), (255, 255, 255)); sq.paste(img, ((side - img.width)//2, (side - img.height)//2))
    sq.resize((size, size), Image.LANCZOS).save(dest, quality=90)

def timed(f):
    start = time.perf_counter(); f(); return time.perf_counter() - start

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=600, help='labelled products to generate (photos: about 1.16 n)')
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--workers', type=int, default=os.cpu_count())
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    try:
        data = make_sample(tmp/'data', n=args.n, img_size=500)
        srcs = load_products(data).image.tolist()
        n = len(srcs)
        for d in ('plain', 'ours1'): (tmp/d).mkdir()
        prep = ImagePrep(args.size)
        for p in srcs[:20]: Image.open(p).load()  # warm the file cache for both sides alike
        t_plain = timed(lambda: [plain_prep(p, tmp/'plain'/Path(p).name, args.size) for p in srcs])
        t_one = timed(lambda: [_prep_one((p, str(tmp/'ours1'/Path(p).name)), prep) for p in srcs])
        t_par = timed(lambda: preprocess_images(srcs, tmp/'ours', prep, n_workers=args.workers, progress=False))
        rows = [('plain loop (1 process)', t_plain), ('ImagePrep (1 process)', t_one), (f'preprocess_images ({args.workers} processes)', t_par)]
        print(f"\n{n} photos, 500 -> {args.size} px, {os.cpu_count()} cores")
        for name, t in rows: print(f"{name:34s} {n/t:8.0f} images/s   {t_plain/t:5.1f}x the plain loop")
        print(f"per core: ImagePrep {n/t_one:.0f} images/s; ratio to the plain loop, one process each: {t_plain/t_one:.1f}x")
    finally: shutil.rmtree(tmp)

if __name__ == '__main__': main()
