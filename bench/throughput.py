"""Throughput of the project against the raw network, side by side, in one run, on whatever device is present.

Usage: python bench/throughput.py [--device cpu|cuda] [--arch efficientnet_b0] [--img_size 224] [--n 512]
                                  [--text_size base|small] [--max_len 128] [--bs 64] [--img_bs 128] [--folds 5]

Raw: the same network on tensors already on the device (mixed precision and channels-last on a GPU), the
ceiling. Project: the same work through the project's own path — prepared photos read from their photo array,
fastai DataLoaders and Learner, texts tokenised and batched by length, the fused `Predictor` — timed in the
same process; a GPU is warmed up on the very work it is timed on (cuDNN builds a plan per batch shape).
Prints one table (inference, image training, the image DataLoader alone — from the photo array and, for
comparison, decoding JPEG files — text training, also against the raw network on the project's own
length-bucketed batches, end-to-end prediction and its parts, a saved ensemble with k fold models per member
and refitted — compared with its members run alone one after the other —, Grad-CAM) with the ratio
project/raw, and writes it as JSON beside the workspace.
"""
import argparse, json, os, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import torch

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()

def rate(n, f, dev, warm=None):
    "Items per second of `f()`, which processes `n` items; `warm()` (default `f`) runs once first."
    (warm or f)(); sync(dev)
    t = time.perf_counter(); f(); sync(dev)
    return n/(time.perf_counter() - t)

def raw_image(arch, size, bs, dev, steps):
    import timm
    m = timm.create_model(arch, num_classes=27).to(dev)
    cuda = dev.type == 'cuda'
    if cuda: m = m.to(memory_format=torch.channels_last)
    x = torch.randn(bs, 3, size, size, device=dev); y = torch.randint(0, 27, (bs,), device=dev)
    if cuda: x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(m.parameters(), 1e-3); scaler = torch.amp.GradScaler(enabled=cuda)
    def train():
        for _ in range(steps):
            with torch.autocast(dev.type, enabled=cuda): loss = torch.nn.functional.cross_entropy(m(x), y)
            opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
    def infer():
        with torch.no_grad(), torch.autocast(dev.type, enabled=cuda):
            for _ in range(steps): m(x)
    tr = rate(bs*steps, train, dev); m.eval()
    return tr, rate(bs*steps, infer, dev)

def raw_text_batches(model, batches, dev, lr=5e-5):
    "Sequences/s of a plain training loop (torch AdamW, mixed precision on a GPU) over ready batches, the second pass timed."
    cuda = dev.type == 'cuda'; model.train()
    batches = [({k: v.to(dev) for k, v in x.items()}, y.to(dev)) for x, y in batches]
    opt = torch.optim.AdamW(model.parameters(), lr); scaler = torch.amp.GradScaler(enabled=cuda)
    def train():
        for x, y in batches:
            with torch.autocast(dev.type, enabled=cuda): loss = model(**x, labels=y).loss
            opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
    return rate(sum(len(y) for _, y in batches), train, dev)

def raw_text(ckpt, max_len, bs, dev, steps):
    from transformers import AutoModelForSequenceClassification
    m = AutoModelForSequenceClassification.from_pretrained(ckpt, num_labels=27, ignore_mismatched_sizes=True).to(dev)
    ids = torch.randint(5, m.config.vocab_size - 1, (bs, max_len), device=dev); y = torch.randint(0, 27, (bs,), device=dev)
    tr = raw_text_batches(m, [({'input_ids': ids}, y)]*steps, dev); m.eval()
    def infer():
        with torch.no_grad(), torch.autocast(dev.type, enabled=dev.type == 'cuda'):
            for _ in range(steps): m(input_ids=ids)
    return tr, rate(bs*steps, infer, dev)

class PhaseTimer:
    "A fastai callback that times the training phase of each epoch (not validation)."
    def __init__(self): self.train_s = []
    def make(self):
        from fastai.callback.core import Callback
        timer = self
        class _T(Callback):
            order = 99
            def before_train(self): self.t = time.perf_counter()
            def after_train(self):
                if torch.cuda.is_available(): torch.cuda.synchronize()
                timer.train_s.append(time.perf_counter() - self.t)
        return _T()

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--arch', default='efficientnet_b0')
    ap.add_argument('--img_size', type=int, default=None, help='default: 224 on a GPU, 128 on a CPU')
    ap.add_argument('--n', type=int, default=None, help='labelled products (default: 4000 on a GPU, 400 on a CPU)')
    ap.add_argument('--text_size', default=None, help="'base' (camembert-base shape) or 'small' (default on a CPU)")
    ap.add_argument('--max_len', type=int, default=128)
    ap.add_argument('--bs', type=int, default=64, help='batch size of the text rows (and the image rows unless --img_bs)')
    ap.add_argument('--img_bs', type=int, default=None, help='batch size of the image rows (default: --bs)')
    ap.add_argument('--folds', type=int, default=5, help="fold models per member of the ensemble row (the leaderboard recipe's 5)")
    ap.add_argument('--workers', type=int, default=None, help='DataLoader processes (default: all cores, at most 16)')
    a = ap.parse_args()
    dev = torch.device(a.device); gpu = dev.type == 'cuda'
    ibs = a.img_bs or a.bs
    size, n = a.img_size or (224 if gpu else 128), a.n or (4000 if gpu else 400)
    text_size = a.text_size or ('base' if gpu else 'small')
    workers = a.workers if a.workers is not None else min(16, os.cpu_count() or 1)
    if not gpu: torch.set_num_threads(os.cpu_count() or 1)
    warnings.filterwarnings('ignore')
    from rakuten.core import Workspace
    from rakuten.console import use_progress, QuietMasterBar, QuietProgressBar
    from rakuten.sample import get_data
    from rakuten.prepare import prepare
    from rakuten.data import labelled_rows
    from rakuten.vision.learner import VisionModel, vision_dls, make_vision_learner
    from rakuten.text.tfidf import TfidfModel
    from rakuten.text.transformer import TransformerModel, tiny_transformer
    from rakuten.fusion import Ensemble
    from rakuten.predict import Predictor
    from rakuten.gradcam import cam_maps, gradcam_galleries
    from rakuten.vision.photos import PhotoArray
    from rakuten.product_types import CODES
    from fastai.vision.all import (DataBlock, ImageBlock, CategoryBlock, ColReader, ColSplitter, Resize, aug_transforms,
                                   Normalize, imagenet_stats)
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    use_progress((QuietMasterBar, QuietProgressBar))
    ws = Workspace(tempfile.mkdtemp(prefix='rakuten-bench-'))
    t = time.perf_counter()
    products = prepare(get_data(ws=ws, n=n, img_size=max(size, 160)), ws, img_size=size, translate=False)
    print(f"data: {len(products)} products, photos at {size} px, prepared in {time.perf_counter() - t:.0f} s; device {dev}"
          + (f" ({torch.cuda.get_device_name(dev)})" if gpu else f" ({os.cpu_count()} cores)"))
    train, valid, test = (labelled_rows(products, (s,)) for s in ('train', 'valid', 'test'))
    rows = []
    # image: raw vs project
    steps = 20 if gpu else 3
    raw_tr, raw_inf = raw_image(a.arch, size, ibs, dev, steps)
    vm = VisionModel(a.arch, size, pretrained=False)
    reps = max(1, (12800 if gpu else 256)//len(train))  # epochs long enough that per-epoch start-up (worker processes) is not what is measured
    fit_rows = pd.concat([train.assign(is_valid=False)]*reps + [valid.head(ibs).assign(is_valid=True)])
    t = time.perf_counter(); arr = PhotoArray.build(products.image.dropna(), size, ws.root/'array_bench', num_workers=workers)  # from scratch (prepare built one)
    build_rate = len(arr)/(time.perf_counter() - t)
    def loader_rate(dls, epochs=2):  # photos/s of the training DataLoader alone, batches on the device
        dls.to(dev); m = 0
        for xb, yb in dls.train: break  # workers started, caches warm
        t = time.perf_counter()
        for _ in range(epochs):
            for xb, yb in dls.train: m += len(xb)
        sync(dev); return m/(time.perf_counter() - t)
    jpeg = DataBlock(blocks=(ImageBlock, CategoryBlock(vocab=CODES)), get_x=ColReader('image'), get_y=ColReader('prdtypecode'),
                     splitter=ColSplitter('is_valid'), item_tfms=Resize(size),
                     batch_tfms=[*aug_transforms(size=size, max_rotate=10, min_scale=0.8, max_warp=0), Normalize.from_stats(*imagenet_stats)])
    jpeg_rate = loader_rate(jpeg.dataloaders(fit_rows, bs=ibs, num_workers=workers))
    dls = vision_dls(fit_rows, size, ibs, num_workers=a.workers)  # the project's default unless --workers
    dl_rate = loader_rate(dls)
    timer = PhaseTimer()
    learn = make_vision_learner(dls, a.arch, pretrained=False, cbs=[timer.make()])
    learn.model.to(dev)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn.fit(2, 1e-3)  # the first epoch warms up (workers, cudnn)
    n_train = len(dls.train)*ibs
    proj_tr = n_train/timer.train_s[-1]
    vm.model = learn.model.eval()
    photos = test.image.tolist()*max(1, (8192 if gpu else 128)//len(test))  # on a GPU, enough photos that fixed costs do not dominate
    ibs_inf = ibs*2 if gpu else ibs
    proj_inf = rate(len(photos), lambda: vm.predict(photos, bs=ibs_inf), dev,  # a GPU warms up on the same batch shapes (cuDNN plans)
                    warm=None if gpu else lambda: vm.predict(photos[:ibs_inf*2], bs=ibs_inf))
    print(f"image: inference {proj_inf:.1f} vs raw {raw_inf:.1f} img/s; training {proj_tr:.1f} vs raw {raw_tr:.1f}; "
          f"DataLoader alone {dl_rate:.1f} (from JPEG {jpeg_rate:.1f}); array built at {build_rate:.1f}", flush=True)
    rows += [('image inference (prepared photos + network)', proj_inf, raw_inf, 'img/s'),
             ('image training, one epoch', proj_tr, raw_tr, 'img/s'),
             ('fastai image DataLoader alone (photo array)', dl_rate, raw_tr, 'img/s'),
             ('  the same from JPEG files (ImageBlock + Resize)', jpeg_rate, raw_tr, 'img/s'),
             ('  photo array built once (decode + write)', build_rate, float('nan'), 'img/s')]
    # text: raw vs project
    ckpt = tiny_transformer(products.text.tolist(), ws.root/'ckpt', **({'hidden_size': 768, 'layers': 12} if text_size == 'base' else {'hidden_size': 256, 'layers': 4}),
                            vocab_size=32000 if text_size == 'base' else 8000)
    if text_size == 'base':  # camembert-base's heads and feed-forward width
        import transformers
        cfg = transformers.AutoConfig.from_pretrained(ckpt); cfg.num_attention_heads, cfg.intermediate_size = 12, 3072
        transformers.AutoModelForSequenceClassification.from_config(cfg).save_pretrained(ckpt)
    tsteps = 10 if gpu else 2
    raw_ttr, raw_tinf = raw_text(ckpt, a.max_len, a.bs, dev, tsteps)
    tm = TransformerModel(str(ckpt), max_len=a.max_len)
    ttimer = PhaseTimer()
    texts_train = pd.concat([train]*max(1, (2048 if gpu else 512)//len(train)))
    tm.hf.to(dev)
    tm.fit(texts_train, valid.head(a.bs), epochs=2, lr=5e-5, bs=a.bs, cbs=[ttimer.make()])  # the first epoch warms up
    proj_ttr = len(texts_train)//a.bs*a.bs/ttimer.train_s[-1]
    bucketed = list(tm._dl(tm._items(texts_train.text, texts_train.prdtypecode), a.bs, shuffle=True))
    raw_bucketed = raw_text_batches(tm.hf, bucketed, dev)
    texts = pd.concat([test.text]*max(1, (4096 if gpu else 256)//len(test)))
    proj_tinf = rate(len(texts), lambda: tm.predict(texts), dev, warm=None if gpu else lambda: tm.predict(texts[:64]))
    print(f"text: inference {proj_tinf:.1f} vs raw {raw_tinf:.1f} seq/s; training {proj_ttr:.1f} vs raw {raw_ttr:.1f}", flush=True)
    rows += [('text inference (tokenise + network)', proj_tinf, raw_tinf, 'seq/s'), ('text training, one epoch', proj_ttr, raw_ttr, 'seq/s'),
             ("  against the raw network on the project's length-bucketed batches", proj_ttr, raw_bucketed, 'seq/s')]
    # end to end: text + image + fusion on prepared inputs
    fusion = Ensemble({'text': tm, 'image': vm}).fit_stack(valid)
    pred = Predictor(fusion)
    many = pd.concat([test]*max(1, (2048 if gpu else 128)//len(test)))
    proj_e2e = rate(len(many), lambda: pred.predict_parts(many, prepared=True), dev, warm=None if gpu else lambda: pred.predict_parts(many.head(64), prepared=True))
    t = time.perf_counter(); pt = tm.predict(many.text); sync(dev); t_text = time.perf_counter() - t
    t = time.perf_counter(); pi = vm.predict(many.image.tolist()); sync(dev); t_img = time.perf_counter() - t
    t = time.perf_counter(); fusion.stack.predict([pt, pi]); t_fus = time.perf_counter() - t
    print(f"end to end, {len(many)} products: {len(many)/proj_e2e:.2f} s — text {t_text:.2f} s, image {t_img:.2f} s, fusion ({fusion.stack.chosen}) {t_fus:.2f} s", flush=True)
    # a saved ensemble as a recipe trains it: k fold models per member, or one refitted model per member
    kfold = Predictor(Ensemble({'text': [tm]*a.folds, 'image': [vm]*a.folds}, fusion.stack))
    ens_k = rate(len(many), lambda: kfold.predict(many, prepared=True), dev, warm=None if gpu else lambda: kfold.predict(many.head(64), prepared=True))
    ens_1 = rate(len(many), lambda: pred.predict(many, prepared=True), dev, warm=None if gpu else lambda: pred.predict(many.head(64), prepared=True))
    print(f"ensemble: {a.folds} fold models per member {ens_k:.1f} products/s, refit {ens_1:.1f}; members alone: text {len(many)/t_text:.1f}, image {len(many)/t_img:.1f}", flush=True)
    both = 1/(1/raw_inf + 1/raw_tinf)  # the two raw networks one after the other: what one product costs at best
    rows += [('end-to-end prediction, text + image + fusion', proj_e2e, raw_inf, 'products/s'),
             ('  the same against both raw networks in turn', proj_e2e, both, 'products/s'),
             ('  its image part (read from the array + network)', len(many)/t_img, raw_inf, 'img/s'),
             ('  its text part (tokenise + network)', len(many)/t_text, raw_tinf, 'seq/s'),
             (f'ensemble of {a.folds} fold models per member (text + image + stack)', ens_k, 1/(1/(len(many)/t_text) + 1/(len(many)/t_img)), 'products/s'),
             ('  the same refitted: one model per member', ens_1, 1/(1/(len(many)/t_text) + 1/(len(many)/t_img)), 'products/s')]
    # Grad-CAM: one photo per class
    per_class = test.groupby('prdtypecode').head(1)
    t = time.perf_counter(); cam_maps(vm, per_class.image.tolist(), per_class.prdtypecode.tolist()); cam_s = time.perf_counter() - t
    rows += [(f'Grad-CAM, one photo per class ({len(per_class)} photos)', len(per_class)/cam_s, float('nan'), 'img/s')]
    t = time.perf_counter(); figs = gradcam_galleries(vm, test, per_class=2); gal_s = time.perf_counter() - t
    for f in figs.values(): plt.close(f)
    rows += [(f'Grad-CAM galleries, every class ({len(figs)} figures, drawn)', len(figs)/gal_s, float('nan'), 'figures/s')]
    table = pd.DataFrame(rows, columns=['stage', 'project', 'raw network', 'unit']).set_index('stage')
    table['ratio'] = table.project/table['raw network']
    pd.set_option('display.width', 200)
    print(f"\n{a.arch} at {size} px (batch {ibs}), transformer '{text_size}' at {a.max_len} tokens (batch {a.bs}), {workers} loader workers\n")
    print(table.round({'project': 1, 'raw network': 1, 'ratio': 3}).to_string())
    out = ws.root/'throughput.json'
    out.write_text(json.dumps({'device': str(dev), 'gpu': torch.cuda.get_device_name(dev) if gpu else None, 'arch': a.arch, 'img_size': size,
                               'text_size': text_size, 'max_len': a.max_len, 'bs': a.bs, 'img_bs': ibs, 'rows': table.reset_index().to_dict('records')}, indent=1))
    print(f"\n-> {out}")

if __name__ == '__main__': main()
