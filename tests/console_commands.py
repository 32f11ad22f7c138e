"""Every console command's main path, on a tiny embedded sample, with the files each one promises.

Usage (from .ci/run): python tests/console_commands.py DIR
DIR is an empty folder. The commands run in the order a user would run them: the sample, preparation, each text
kind, the image learner, the benchmark, Grad-CAM, the main job (twice: the second run re-does nothing), a recipe's dry run, a recipe
whose ensemble is then used by `rakuten_predict` on a plain products file and served by `rakuten_serve`. A command
in settings.ini's `console_scripts` that this script does not run is a failure: a new command must be added here.
Prints one line per command and exits 1 if any failed.
"""
import configparser, json, os, signal, subprocess, sys, time, traceback
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = {}  # command -> None (passed) or the reason it failed

def run(*args, timeout=900):
    "Run a console command; its output, or an error with the end of its log."
    t0 = time.perf_counter()
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    log = p.stdout + p.stderr
    if p.returncode != 0: raise AssertionError(f"exit {p.returncode}:\n{log[-3000:]}")
    return log, time.perf_counter() - t0

def check(name):
    "Run one command's check, record and print the outcome."
    def deco(fn):
        t0 = time.perf_counter()
        try:
            note = fn()
            RESULTS.setdefault(name, None)
            print(f"ok      {name} ({time.perf_counter() - t0:.0f} s){': ' + note if note else ''}", flush=True)
        except Exception as e:
            RESULTS[name] = f"{type(e).__name__}: {e}"
            print(f"FAILED  {name}: {RESULTS[name][-3000:]}", flush=True)
            if not isinstance(e, AssertionError): traceback.print_exc()
        return fn
    return deco

def check_cards(ws):
    "Every saved model folder of a workspace has a model card with its sections; the fusion's has rows and scores."
    sections = ('## Classes', '## Training data', '## Settings', '## Scores', '## Intended use and limits')
    for c in (ws/'models').rglob('config.json'):
        card = c.parent/'README.md'
        assert card.is_file(), f"{c.parent}: no model card"
        text = card.read_text()
        assert all(s in text for s in sections), f"{card}: missing {[s for s in sections if s not in text]}"
        if c.parent.name in ('fusion', 'ensemble'):
            assert 'Not recorded' not in text and 'No score recorded' not in text, f"{card}:\n{text}"

def console_scripts():
    "The console commands settings.ini declares."
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    return sorted(line.split('=')[0].strip() for line in cfg['DEFAULT']['console_scripts'].split('\n') if line.strip())

def main(d):
    d = Path(d); data, ws = d/'official', d/'ws'
    common = ['--data', str(data), '--workspace', str(ws)]

    @check('rakuten_sample')
    def _():
        log, _ = run('rakuten_sample', str(data), '--n', '200', '--img_size', '96', '--bad_images')
        for f in ('X_train_update.csv', 'Y_train_CVw08PX.csv', 'X_test_update.csv'): assert (data/f).is_file(), f
        assert len(list((data/'images'/'image_train').glob('*.jpg'))) >= 190
        return log.strip().splitlines()[-1]

    @check('rakuten_prepare')
    def _():
        run('rakuten_prepare', *common, '--img_size', '64', '--no_translate', '--n_workers', '2')
        df = pd.read_parquet(ws/'data'/'processed'/'products.parquet')
        assert set(df.split) == {'train', 'valid', 'test', 'submission'}, set(df.split)
        assert df.image.notna().sum() >= 190
        return f"{len(df)} products"

    from rakuten.text.transformer import tiny_transformer  # a tiny checkpoint trained on the sample: the transformer path, offline
    ckpt = tiny_transformer(pd.read_parquet(ws/'data'/'processed'/'products.parquet').text.tolist(), d/'tiny')
    for model, extra in (('tfidf', []), ('awd_lstm', ['--epochs', '1', '--lr', '1e-2']), (str(ckpt), ['--epochs', '1', '--lr', '1e-3'])):
        @check(f'rakuten_train_text --model {Path(model).name}')
        def _():
            log, _ = run('rakuten_train_text', *common, '--model', model, *extra)
            folder = ws/'models'/f'text_{Path(model).name}'
            cfg = json.loads((folder/'config.json').read_text())
            assert 'test' in cfg['train']['scores'], cfg['train']
            return log.strip().splitlines()[-1]

    @check('rakuten_train_vision')
    def _():
        from rakuten.tracking import read_runs
        from rakuten.core import Workspace
        before = read_runs(Workspace(ws))
        log, _ = run('rakuten_train_vision', *common, '--arch', 'resnet18', '--img_size', '64', '--epochs', '1', '--bs', '32',
                     '--no_pretrained', '--no_tracking')
        assert (ws/'models'/'vision_resnet18'/'model.safetensors').is_file()
        assert log.startswith(f"rakuten_train_vision: workspace {ws}, data {data} (official layout), settings {{'arch': 'resnet18'"), log[:300]
        after = read_runs(Workspace(ws))
        assert len(after) == len(before) and 'rakuten_train_vision' not in set(after.command), after  # --no_tracking: no line
        assert list(before.command).count('rakuten_train_text') == 3, before.command  # the three tracked text runs
        return log.strip().splitlines()[-1]

    @check('rakuten_benchmark')
    def _():
        run('rakuten_benchmark', *common, '--archs', 'resnet18', '--text_models', 'tfidf', '--epochs', '1', '--img_size', '64',
            '--bs', '32', '--no_pretrained', '--specs', json.dumps({'tfidf_c4': {'kind': 'tfidf', 'C': 4.0}}))
        figs = ws/'reports'/'figures'
        for sub in ('benchmark_images_models_results', 'benchmark_text_models_results', 'benchmark_models_results'):
            assert (figs/sub/'results.csv').is_file() and (figs/sub/'per_class_f1.png').is_file(), sub
        return 'images, text and specs tables'

    @check('rakuten_gradcam')
    def _():
        run('rakuten_gradcam', *common, '--model', 'vision_resnet18', '--classes', '10 2583', '--per_class', '1')
        pngs = sorted(p.name for p in (ws/'reports'/'figures'/'gradcam').glob('gradcam_*.png'))
        assert pngs == ['gradcam_10.png', 'gradcam_2583.png'], pngs
        return ', '.join(pngs)

    pws = d/'pipeline'
    @check('rakuten_pipeline')
    def _():
        job = ['rakuten_pipeline', '--data', str(data), '--workspace', str(pws), '--budget', 'sample', '--epochs_vision', '2']
        log1, _ = run(*job)
        log2, t2 = run(*job)
        m = json.loads((pws/'reports'/'metrics.json').read_text())
        sub = pd.read_csv(pws/'reports'/'submission.csv', index_col=0)
        x_test = pd.read_csv(data/'X_test_update.csv', index_col=0)
        assert list(sub.index) == list(x_test.index) and sub.prdtypecode.notna().all()
        assert all(0 <= m[k]['weighted_f1'] <= 1 for k in ('text', 'image', 'fusion')), m
        state = json.loads((pws/'reports'/'pipeline_state.json').read_text())
        assert all(v['runs'] == 1 for v in state.values()), state  # the second run re-did no stage
        assert not any('\r' in l for l in (log1, log2)) and len(log1.splitlines()) < 80, 'the job log is not plain lines'
        assert (pws/'models'/'fusion'/'config.json').is_file()
        report = (pws/'reports'/'report.md').read_text()
        import re
        linked = re.findall(r'!\[[^]]*\]\(([^)]+)\)', report)
        assert linked and all((pws/'reports'/l).is_file() for l in linked), [l for l in linked if not (pws/'reports'/l).is_file()]
        assert '### Most confused pairs' in report and 'errors.png' in report, 'report.md lacks the error analysis'
        check_cards(pws)
        assert log1.startswith(f"rakuten_pipeline: workspace {pws}, data {data} (official layout), settings {{"), log1[:300]
        assert all(f"{s}: running" in log1 for s in ('prepare', 'text', 'image', 'fusion')), log1  # the stages, named
        from rakuten.tracking import read_runs, import_mlflow
        from rakuten.core import Workspace
        runs = read_runs(Workspace(pws))
        assert list(runs.command) == ['rakuten_pipeline']*2 and (runs.status == 'FINISHED').all(), runs
        assert runs.test_fusion_weighted_f1.notna().all() and runs.test_text_weighted_f1.notna().all(), runs  # scores on both lines
        client = import_mlflow(runs.tracking_uri[0]).MlflowClient(runs.tracking_uri[0])
        exp = client.get_experiment_by_name('rakuten')
        top = client.search_runs([exp.experiment_id], filter_string="tags.command = 'rakuten_pipeline'")
        assert sorted(r.info.run_id for r in top) == sorted(runs.run_id), (top, runs.run_id)
        assert all(r.data.metrics.get('test_fusion_weighted_f1') is not None for r in top), [r.data.metrics for r in top]
        nested = client.search_runs([exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{runs.run_id[0]}'")
        assert {r.info.run_name for r in nested} == {'text', 'image', 'fusion'}, [r.info.run_name for r in nested]
        return f"fusion {m['fusion']['weighted_f1']:.3f}; second run {t2:.0f} s; 2 tracked runs"

    ews = d/'ensemble'
    @check('rakuten_pipeline --recipe sample --refit')
    def _():
        log, _ = run('rakuten_pipeline', '--data', str(data), '--workspace', str(ews), '--recipe', 'sample', '--folds', '2', '--refit')
        rep = json.loads((ews/'reports'/'ensemble.json').read_text())
        assert rep['folds'] == 2 and set(rep['members']) == {'tfidf', 'resnet18'} and rep['submission_rows'] > 0, rep
        cfg = json.loads((ews/'models'/'ensemble'/'config.json').read_text())
        assert all(len(m['folders']) == 1 for m in cfg['members'].values()), cfg['members']  # refit: one model per member
        check_cards(ews)
        return f"stack ({rep['stack']['chosen']}) {rep['stack']['test_weighted_f1']['stack']:.3f}"

    @check('rakuten_pipeline --recipe sample --dry_run')
    def _():
        dws = d/'dry'
        log, _ = run('rakuten_pipeline', '--data', str(data), '--workspace', str(dws), '--recipe', 'sample', '--dry_run',
                     '--price_for', '98728')
        rep = json.loads((dws/'reports'/'dry_run.json').read_text())
        assert set(rep['members']) == {'tfidf', 'resnet18'} and rep['totals']['train_s'] > 0, rep
        assert [f['fold'] for f in rep['members']['resnet18']['per_fold']] == [0], rep['members']['resnet18']
        assert rep['products'] == 98728 and rep['timed_on_products'] < 1000 and 'on 98728 products (timed on' in log, log[-500:]
        assert not (dws/'models').exists() or not any((dws/'models').iterdir()), 'a dry run trained something'
        return log.strip().splitlines()[-1][:160]

    new = d/'new'  # products as a user has them: a plain CSV, photos beside it, some fields empty
    @check('rakuten_predict --products')
    def _():
        x = pd.read_csv(data/'X_test_update.csv', index_col=0).head(12)
        (new/'photos').mkdir(parents=True, exist_ok=True)
        photos = []
        for i, r in enumerate(x.itertuples()):
            src = data/'images'/'image_test'/f'image_{r.imageid}_product_{r.productid}.jpg'
            if i % 4 == 3 or not src.exists(): photos.append(''); continue
            (new/'photos'/f'p{i}.jpg').write_bytes(src.read_bytes()); photos.append(f'photos/p{i}.jpg')
        products = pd.DataFrame({'designation': x.designation.values, 'description': x.description.fillna('').values, 'image': photos})
        products.loc[5, 'description'] = ''
        products.to_csv(new/'products.csv', index=False)
        log, _ = run('rakuten_predict', '--model', str(ews/'models'/'ensemble'), '--products', str(new/'products.csv'),
                     '--out', str(new/'predicted.csv'), '--workspace', str(ews))
        out = pd.read_csv(new/'predicted.csv')
        assert len(out) == 12 and out.prdtypecode.notna().all(), out
        for c in ('category_fr', 'category_en', 'probability', 'top3', 'source'): assert out[c].notna().all(), c
        assert (out.source == 'text only: no photo').sum() == 3, out.source.tolist()
        return log.strip().splitlines()[-1]

    @check('rakuten_serve')
    def _():
        import socket, urllib.request
        with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
        proc = subprocess.Popen(['rakuten_serve', '--model', str(ews/'models'/'ensemble'), '--workspace', str(ews), '--port', str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        url = f'http://127.0.0.1:{port}'
        try:
            for _ in range(240):
                try:
                    if urllib.request.urlopen(url + '/health', timeout=2).status == 200: break
                except OSError: time.sleep(0.5)
                if proc.poll() is not None: raise AssertionError(f"rakuten_serve stopped: {proc.stdout.read()[-2000:]}")
            else: raise AssertionError('rakuten_serve did not answer /health within 120 s')
            import base64
            first = pd.read_csv(new/'products.csv', keep_default_na=False).iloc[0]
            product = {'designation': first.designation, 'description': first.description}
            if first.image: product['image'] = base64.b64encode((new/first.image).read_bytes()).decode()
            req = urllib.request.Request(url + '/predict', json.dumps(product).encode(), {'Content-Type': 'application/json'})
            answer = json.loads(urllib.request.urlopen(req, timeout=60).read())
            expected = pd.read_csv(new/'predicted.csv').prdtypecode[0]
            assert int(answer['prdtypecode']) == int(expected), (answer, expected)  # the same top class as rakuten_predict
            return f"POST /predict -> {answer['prdtypecode']} ({answer.get('probability')})"
        finally:
            try: os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError: pass  # it stopped already: the failure above says why
            proc.wait(timeout=30)

    cat_dir, cws = d/'shop', d/'shop_ws'
    cols = ['--text', 'name,details', '--image', 'picture', '--id', 'sku']
    @check('rakuten_sample --catalog')
    def _():
        log, _ = run('rakuten_sample', str(cat_dir), '--catalog', '--n', '240', '--img_size', '64')
        shop = pd.read_csv(cat_dir/'catalog.csv', keep_default_na=False)
        assert list(shop.columns) == ['sku', 'name', 'details', 'picture', 'category'], list(shop.columns)
        assert shop.category[shop.category != ''].nunique() == 8 and (shop.picture == '').any() and (shop.category == '').any()
        return log.strip().splitlines()[-1][:120]

    @check('rakuten_pipeline --catalog')
    def _():
        log, _ = run('rakuten_pipeline', '--catalog', str(cat_dir/'catalog.csv'), *cols, '--label', 'category',
                     '--label_names', str(cat_dir/'category_names.csv'), '--workspace', str(cws), '--budget', 'sample',
                     '--epochs_vision', '1', '--no_translate')
        shop = pd.read_csv(cat_dir/'catalog.csv', keep_default_na=False)
        pred = pd.read_csv(cws/'reports'/'predictions.csv')
        assert len(pred) == (shop.category == '').sum() and set(pred.id) <= set(shop.sku), pred.head()
        classes = json.loads((cws/'models'/'fusion'/'config.json').read_text())['classes']
        assert classes == sorted(shop.category[shop.category != ''].unique()) and set(pred.label) <= set(classes), classes
        assert pred.name.str.contains('&').any(), pred.name.unique()  # names from the label map
        assert 'catalog ' in log.splitlines()[0], log.splitlines()[0]
        return log.strip().splitlines()[-2][:120]

    @check('rakuten_predict --catalog')
    def _():
        log, _ = run('rakuten_predict', '--catalog', str(cat_dir/'catalog.csv'), *cols, '--label', 'category', '--model', 'models/fusion',
                     '--workspace', str(cws))  # a model named by its path inside the workspace
        out = pd.read_csv(cws/'reports'/'predicted_catalog.csv', keep_default_na=False)
        assert {'id', 'given', 'label', 'name', 'probability'} <= set(out.columns) and len(out) == 240, out.columns
        assert (out.label == out.given)[out.given != ''].mean() > 0.5, out[['given', 'label']].head()
        assert len(pd.read_csv(cws/'reports'/'predictions.csv')) < 240  # the pipeline's predictions of the unlabelled rows, kept
        return log.strip().splitlines()[-2][:120]

    declared = console_scripts()
    ran = {name.split()[0] for name in RESULTS}
    missing = sorted(set(declared) - ran)
    if missing:
        print(f"FAILED  console commands in settings.ini that this script does not run: {missing}")
        RESULTS['coverage'] = str(missing)
    failed = [n for n, why in RESULTS.items() if why]
    print(f"console commands: {len(RESULTS) - len(failed)} ok, {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main(sys.argv[1]))
