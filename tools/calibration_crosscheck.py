"""Cross-check the package's D-ECE and LaECE_0 against independent implementations on one set of detections.

Three steps (docs/calibration.md has the exact commands and the numbers):

    # 1. (project venv) detections + ground truth of a checkpoint -> COCO JSONs
    python tools/fit_calibrator.py CONFIG CKPT --dump-dets dets.pkl --out /tmp/throwaway.json
    python tools/calibration_crosscheck.py export dets.pkl OUT_DIR
    # 2. (project venv) this package's numbers
    python tools/calibration_crosscheck.py ours OUT_DIR
    # 3. (a separate venv with netcal, pycocotools, scikit-learn, torch and fiveai/detection_calibration's
    #    src/ on PYTHONPATH) the independent numbers
    python tools/calibration_crosscheck.py reference OUT_DIR

``reference`` computes D-ECE with netcal's ``ECE(detection=True)`` on TP flags from pycocotools' own
matching (IoU 0.5, score >= 0.3 or ``--score-thr``, 10 bins), and D-ECE and LaECE_0 / oLRP with the
reference code of Kuzucu et al. (``CalibrationCOCO`` of fiveai/detection_calibration: IoU 0, 25 bins,
class-wise LRP-optimal thresholds). Only ``export`` and ``ours`` import this package; ``reference`` imports
neither it nor mmdet.
"""

import argparse
import copy
import json
import os
import os.path as osp
import pickle
import sys
import types

import numpy as np

DECE_IOU, DECE_SCORE, DECE_BINS = 0.5, 0.3, 10


def export(dets_pkl: str, out_dir: str) -> None:
    """``gt.json`` (COCO annotations) and ``dets.json`` (COCO results) from a ``--dump-dets`` pickle."""
    with open(dets_pkl, 'rb') as f:
        dump = json.loads(json.dumps(pickle.load(f), default=lambda a: np.asarray(a).tolist()))
    os.makedirs(out_dir, exist_ok=True)
    images, anns, dets = [], [], []
    for i, img in enumerate(dump['images']):
        images.append(dict(id=i, file_name=f'{i}.jpg', width=10000, height=10000))
        for (x1, y1, x2, y2), label, ignore in zip(img['gt_bboxes'], img['gt_labels'], img['gt_ignore']):
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=i,
                    category_id=int(label) + 1,
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=(x2 - x1) * (y2 - y1),
                    iscrowd=int(ignore),
                )
            )
        for (x1, y1, x2, y2), score, label in zip(img['bboxes'], img['scores'], img['labels']):
            dets.append(
                dict(image_id=i, category_id=int(label) + 1, bbox=[x1, y1, x2 - x1, y2 - y1], score=float(score))
            )
    categories = [dict(id=c + 1, name=name) for c, name in enumerate(dump['classes'])]
    with open(osp.join(out_dir, 'gt.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=categories), f)
    with open(osp.join(out_dir, 'dets.json'), 'w') as f:
        json.dump(dets, f)
    print(f'{len(images)} images, {len(anns)} GT, {len(dets)} detections -> {out_dir}')


def ours(out_dir: str, score_thr: float = DECE_SCORE) -> dict:
    """D-ECE (DetectionCalibrationMetric) and LaECE_0 / oLRP (LaECEMetric) of the JSONs."""
    import torch

    from mmdet_selfkd.evaluation import DetectionCalibrationMetric, LaECEMetric

    with open(osp.join(out_dir, 'gt.json')) as f:
        gt = json.load(f)
    with open(osp.join(out_dir, 'dets.json')) as f:
        dets = json.load(f)

    def xyxy(boxes):
        return torch.tensor([[x, y, x + w, y + h] for x, y, w, h in boxes], dtype=torch.float32).reshape(-1, 4)

    samples = []
    for img in gt['images']:
        a = [x for x in gt['annotations'] if x['image_id'] == img['id']]
        d = [x for x in dets if x['image_id'] == img['id']]

        def part(anns):
            return dict(
                bboxes=xyxy([x['bbox'] for x in anns]),
                labels=torch.tensor([x['category_id'] - 1 for x in anns], dtype=torch.int64),
            )

        samples.append(
            dict(
                pred_instances=dict(
                    bboxes=xyxy([x['bbox'] for x in d]),
                    scores=torch.tensor([x['score'] for x in d], dtype=torch.float64),
                    labels=torch.tensor([x['category_id'] - 1 for x in d], dtype=torch.int64),
                ),
                gt_instances=part([x for x in a if not x['iscrowd']]),
                ignored_instances=part([x for x in a if x['iscrowd']]),
            )
        )
    result = {}
    for metric in (DetectionCalibrationMetric(DECE_IOU, score_thr, DECE_BINS, save_diagram=False), LaECEMetric()):
        metric.dataset_meta = dict(classes=tuple(c['name'] for c in gt['categories']))
        metric.process({}, samples)
        result.update(metric.evaluate(len(samples)))
    out = {
        k: float(result[k]) for k in ('calib/dece', 'calib/num_dets', 'laece/laece0', 'laece/olrp', 'laece/num_dets')
    }
    print(json.dumps(out, indent=1))
    return out


def _stub_lvis() -> None:
    """The reference's utils import its LVIS copy, whose __init__ needs an installed ``lvis``; not used here."""
    for name in (
        'detection_calibration.lvis',
        'detection_calibration.lvis.lvis',
        'detection_calibration.lvis.eval',
        'detection_calibration.lvis.results',
    ):
        module = types.ModuleType(name)
        module.LVIS = module.LVISEval = module.LVISResults = None
        sys.modules[name] = module


def reference(out_dir: str, score_thr: float = DECE_SCORE) -> dict:
    """netcal's D-ECE and fiveai/detection_calibration's D-ECE, LaECE_0 and oLRP of the JSONs."""
    import contextlib
    import io

    from netcal.metrics import ECE
    from pycocotools.coco import COCO as StockCOCO
    from pycocotools.cocoeval import COCOeval as StockCOCOeval

    _stub_lvis()
    from detection_calibration.coco_calibration import CalibrationCOCO
    from detection_calibration.pycocotools_lrp.coco import COCO
    from detection_calibration.pycocotools_lrp.cocoeval import COCOeval
    from detection_calibration.utils import threshold_detections

    gt_file = osp.join(out_dir, 'gt.json')
    with open(osp.join(out_dir, 'dets.json')) as f:
        dets = json.load(f)
    quiet = contextlib.redirect_stdout(io.StringIO())
    out = {}

    # D-ECE with netcal on pycocotools' own matching (IoU 0.5, score >= 0.3, crowd matches dropped)
    kept = [d for d in dets if d['score'] >= score_thr]
    if not kept:
        raise SystemExit(f'no detection with score >= {score_thr}: pass a lower --score-thr (to both commands)')
    with quiet:
        coco = StockCOCO(gt_file)
        ev = StockCOCOeval(coco, coco.loadRes(copy.deepcopy(kept)), 'bbox')
        ev.params.iouThrs = np.array([DECE_IOU])
        ev.params.areaRng, ev.params.areaRngLbl, ev.params.maxDets = [ev.params.areaRng[0]], ['all'], [100]
        ev.evaluate()
    scores, matched = [], []
    for e in ev.evalImgs:
        if e is None:
            continue
        keep = ~e['dtIgnore'][0].astype(bool)
        scores += list(np.asarray(e['dtScores'])[keep])
        matched += list((e['dtMatches'][0] > 0)[keep])
    out['netcal_dece'] = float(ECE(bins=DECE_BINS, detection=True).measure(np.array(scores), np.array(matched, int)))
    out['netcal_num_dets'] = len(scores)

    # fiveai/detection_calibration (as its DetectionCalibration.evaluate_calibration / fit)
    with quiet:
        ev = CalibrationCOCO(gt_file, gt_file, 'bbox', DECE_BINS, DECE_IOU, True, False, 100)
        ev.cocoDt = COCO(gt_file).loadRes(copy.deepcopy(kept))
        ev.evaluate()
        ev.prepare_input()
        ev.compute_single_errors()
        out['ref_dece'] = float(ev.accumulate_errors())

        # LRP-optimal thresholds (as utils.get_detection_thresholds with thr=-1, tau=0) and oLRP
        coco = COCO(gt_file)
        lrp_ev = COCOeval(coco, coco.loadRes(copy.deepcopy(dets)), 'bbox')
        lrp_ev.params.areaRng, lrp_ev.params.areaRngLbl = [lrp_ev.params.areaRng[0]], ['all']
        lrp_ev.params.iouThrs, lrp_ev.params.maxDets = np.array([0.0]), [100]
        lrp_ev.evaluate()
        lrp_ev.accumulate()
        thresholds = lrp_ev.eval['lrp_opt_thr'].squeeze()
        olrp = lrp_ev.eval['olrp'].squeeze()
        out['ref_olrp'] = float(np.mean(olrp[olrp >= 0]))  # -1: classes without GT
        kept = threshold_detections(copy.deepcopy(dets), thresholds, list(COCO(gt_file).cats.keys()))

        ev = CalibrationCOCO(gt_file, gt_file, 'bbox', 25, 0.0, False, False, 100)
        ev.cocoDt = COCO(gt_file).loadRes(kept)
        ev.evaluate()
        ev.prepare_input()
        ev.compute_single_errors()
        out['ref_laece0'] = float(ev.accumulate_errors())
        out['ref_laece0_num_dets'] = len(kept)
    out['ref_lrp_opt_thresholds'] = [float(t) for t in np.atleast_1d(thresholds)]
    print(json.dumps(out, indent=1))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('export')
    p.add_argument('dets_pkl')
    p.add_argument('out_dir')
    for name in ('ours', 'reference'):
        p = sub.add_parser(name)
        p.add_argument('out_dir')
        p.add_argument(
            '--score-thr',
            type=float,
            default=DECE_SCORE,
            help='D-ECE score threshold (default 0.3; lower it on both sides for a weak model)',
        )
    args = parser.parse_args(argv)
    if args.cmd == 'export':
        export(args.dets_pkl, args.out_dir)
    else:
        (ours if args.cmd == 'ours' else reference)(args.out_dir, args.score_thr)


if __name__ == '__main__':
    main()
