"""What PS-KD costs: step time and memory of each memory strategy against plain mmdet, in one run.

For each method the same detector is built from the same seed, trained for one recorded pass over
``--images`` images (pass 0 fills the memory; for ``snapshot`` it ends with the copy), then timed for
``--steps`` iterations of the next pass, in which every strategy teaches. Prints the step-time ratio to the
baseline measured in the same run, extra host memory (the memory store; the model copy for
``snapshot``), extra peak GPU memory, memory bytes per image and that figure extrapolated to COCO
train2017 (118,287 images; measured per-image bytes scaled by COCO's 7.3 GT boxes per image, and the
worst case of 128 positives per image that mmdet's 512x0.25 sampler allows; for ``gt`` its rows are the
7.3 GT boxes an image).

    python benchmarks/pskd_overhead.py                     # CPU: R18 main-job model, 160 px
    python benchmarks/pskd_overhead.py --preset gpu-r50    # GPU: R50-FPN at 1333x800, batch 2, fp32
    python benchmarks/pskd_overhead.py --preset gpu-r50 --batch-size 8 --amp
"""

import argparse
import copy
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
import mmdet_selfkd  # noqa: E402,F401
from mmdet_selfkd.datasets import make_shapes_dataset  # noqa: E402
from mmdet_selfkd.memory import build_memory  # noqa: E402

COCO_IMAGES, COCO_GTS_PER_IMAGE, MAX_POSITIVES = 118_287, 7.3, 128
PRESETS = {
    'cpu': dict(config='configs/pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py', scale=None, batch_size=8),
    'gpu-r50': dict(config='configs/pskd/faster-rcnn_r50_fpn_pskd-1x_coco.py', scale=(1333, 800), batch_size=2),
}
STRATEGIES = {
    'gt': dict(strategy='gt'),
    'iou': dict(strategy='iou', iou_thr=0.7),
    'snapshot': dict(strategy='snapshot'),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--preset', choices=sorted(PRESETS), default='cpu')
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--images', type=int, default=32, help='images in the recorded pass')
    parser.add_argument('--steps', type=int, default=8, help='timed iterations of the taught pass')
    parser.add_argument('--amp', action='store_true', help='autocast to fp16 (GPU)')
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'shapes'))
    return parser.parse_args()


def build(args, preset: dict):
    """The PS-KD detector and a dataset of shapes images, at the preset's scale and class count."""
    from mmdet.registry import DATASETS, MODELS

    init_default_scope('mmdet')
    cfg = Config.fromfile(osp.join(REPO, preset['config']))
    cfg.model.backbone.init_cfg = None  # no download; weights don't change the cost
    make_shapes_dataset(args.data_root)
    dataset_cfg = copy.deepcopy(Config.fromfile(osp.join(REPO, PRESETS['cpu']['config'])).train_dataloader.dataset)
    dataset_cfg.data_root = args.data_root.rstrip('/') + '/'
    if preset['scale']:
        dataset_cfg.pipeline[2] = dict(type='Resize', scale=preset['scale'], keep_ratio=False)
    dataset = DATASETS.build(dataset_cfg)
    return cfg, MODELS, dataset


def run_method(method: str, args, cfg, models_registry, batches: List[dict], device: str) -> Dict[str, float]:
    torch.manual_seed(0)
    model_cfg = copy.deepcopy(cfg.model)
    if method == 'baseline':  # plain mmdet: stock RoI head and cross-entropy
        model_cfg.roi_head.type = 'StandardRoIHead'
        model_cfg.roi_head.bbox_head.loss_cls = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
    model = models_registry.build(model_cfg).to(device)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    roi_head = model.roi_head
    memory, losses = None, []
    if method != 'baseline':
        memory = build_memory(roi_head.bbox_head.num_classes + 1, **STRATEGIES[method])
        roi_head.pskd_memory = memory
        losses = roi_head.pskd_losses()

    def step(batch, alpha):
        for loss in losses:
            loss.alpha_t = alpha
        with torch.autocast(device_type=device, dtype=torch.float16, enabled=args.amp):
            parsed, _ = model.parse_losses(model(**model.data_preprocessor(batch, True), mode='loss'))
        optim.update_params(parsed)
        if memory is not None:
            memory.sync()

    for batch in batches:  # pass 0: records (and warms up)
        step(batch, 0.0)
    if memory is not None:
        memory.end_pass(model)
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(args.steps):
        batch = batches[i % len(batches)]
        if i and i % len(batches) == 0 and memory is not None:  # every cycle over the images is a pass
            memory.end_pass(model)
        start = time.perf_counter()
        step(batch, 0.4)
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    stored = memory.nbytes() if memory is not None else 0
    images_stored = len(memory.image_keys()) if memory is not None and memory.image_keys() else 0
    gts = sum(len(b['data_samples'][i].gt_instances) for b in batches for i in range(len(b['data_samples'])))
    return dict(
        step_s=statistics.median(times),
        host_bytes=stored,
        gpu_peak=torch.cuda.max_memory_allocated() if device == 'cuda' else 0,
        bytes_per_image=stored / images_stored if images_stored else 0.0,
        gts_per_image=gts / (len(batches) * len(batches[0]['data_samples'])),
        rows=sum(v.values.size(0) for buf in ('prev_preds', 'cur_preds') for v in getattr(memory, buf, {}).values()),
        coverage=losses[0].last_stats['coverage'] if losses else 0.0,
        row_bytes=2 * (4 + getattr(memory, 'topk', 0)) + 2 * (1 + getattr(memory, 'topk', 0)),
    )  # fp16 + int16


def main() -> None:
    args = parse_args()
    preset = PRESETS[args.preset]
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    cfg, models_registry, dataset = build(args, preset)
    batch_size = args.batch_size or preset['batch_size']
    images = [dataset[i] for i in range(args.images)]
    batches = [pseudo_collate(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    # the baseline runs first and last; its step time is the mean of both (warm-up and drift cancel out)
    results = {m: run_method(m, args, cfg, models_registry, batches, device) for m in ['baseline', *STRATEGIES]}
    results['baseline']['step_s'] = (
        results['baseline']['step_s'] + run_method('baseline', args, cfg, models_registry, batches, device)['step_s']
    ) / 2
    base = results['baseline']
    print(
        f'\nPS-KD overhead: {preset["config"]}, {device}, batch {batch_size}, {args.images} images, '
        f'{args.steps} timed steps{", AMP" if args.amp else ""}'
    )
    print(
        f'{"method":<10}{"step ms":>9}{"ratio":>7}{"taught":>8}{"+host MB":>10}{"+GPU MB":>9}{"B/image":>9}'
        f'{"COCO GB (7.3 GT/img)":>22}{"COCO GB worst case":>21}'
    )
    for method, res in results.items():
        scale = COCO_GTS_PER_IMAGE / max(res['gts_per_image'], 1e-9)
        coco_est = res['bytes_per_image'] * scale * COCO_IMAGES / 2**30
        rows_per_image = MAX_POSITIVES + COCO_GTS_PER_IMAGE if method == 'iou' else COCO_GTS_PER_IMAGE
        worst = COCO_IMAGES * rows_per_image * res['row_bytes'] / 2**30 if res['rows'] else 0
        if method == 'snapshot':
            coco_est = worst = res['host_bytes'] / 2**30  # a model copy, independent of the dataset
        print(
            f'{method:<10}{1000 * res["step_s"]:>9.1f}{res["step_s"] / base["step_s"]:>7.3f}{res["coverage"]:>8.3f}'
            f'{res["host_bytes"] / 2**20:>10.2f}{(res["gpu_peak"] - base["gpu_peak"]) / 2**20:>9.1f}'
            f'{res["bytes_per_image"]:>9.0f}{coco_est:>22.3f}{worst:>21.3f}'
        )


if __name__ == '__main__':
    main()
