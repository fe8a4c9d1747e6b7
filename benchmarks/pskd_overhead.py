"""What PS-KD costs: step time and memory of each teacher strategy against plain mmdet, in one process.

Every method trains the same detector from the same seed through mmengine's ``Runner`` (``PSKDHook`` and the
self-KD RoI head as a user's config runs them, so this cannot drift from the real lifecycle) for two passes over
``--images`` images: pass 0 records (for ``snapshot`` it ends with the copy), pass 1 teaches and is timed, from
``before_train_iter`` to ``after_train_iter`` (forward, backward, the teacher's sync; no data loading). Prints the
step-time ratio to the baseline measured in the same run, extra host memory (the teacher; the model copy for
``snapshot``), extra peak GPU memory, memory bytes per image and that figure extrapolated to COCO train2017
(118,287 images; measured per-image bytes scaled by COCO's 7.3 GT boxes per image, and the worst case of 128
positives per image that mmdet's 512x0.25 sampler allows; for ``gt`` its rows are the 7.3 GT boxes an image).

    python benchmarks/pskd_overhead.py                     # CPU: R18 main-job model, 160 px
    python benchmarks/pskd_overhead.py --preset gpu-r50    # GPU: R50-FPN at 1333x800, batch 2, fp32
    python benchmarks/pskd_overhead.py --preset gpu-r50 --batch-size 8 --amp
"""

import argparse
import itertools
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from mmdet_selfkd.datasets import make_shapes_dataset  # noqa: E402
from mmdet_selfkd.engine import PSKDHook  # noqa: E402

COCO_IMAGES, COCO_GTS_PER_IMAGE, MAX_POSITIVES = 118_287, 7.3, 128
SHAPES_CFG = 'configs/pskd/faster-rcnn_r18_fpn_pskd-8e_shapes.py'
PRESETS = {
    'cpu': dict(config=SHAPES_CFG, scale=None, batch_size=8),
    'gpu-r50': dict(config='configs/pskd/faster-rcnn_r50_fpn_pskd-1x_coco.py', scale=(1333, 800), batch_size=2),
}
STRATEGIES = {
    'gt': dict(strategy='gt'),
    'iou': dict(strategy='iou', iou_thr=0.7),
    'snapshot': dict(strategy='snapshot'),
}
RUN_IDS = itertools.count()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--preset', choices=sorted(PRESETS), default='cpu')
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--images', type=int, default=32, help='images per pass')
    parser.add_argument('--amp', action='store_true', help='autocast to fp16 (GPU)')
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'shapes'))
    return parser.parse_args()


class StepTimer(Hook):
    """Times the iterations of the last epoch (pass 1), synchronising the GPU at both ends."""

    priority = 'VERY_LOW'  # after PSKDHook's after_train_iter (the sync)

    def __init__(self) -> None:
        self.times: List[float] = []
        self._start = 0.0

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if runner.epoch == runner.max_epochs - 1:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.epoch == runner.max_epochs - 1:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self._start)


def method_config(method: str, args, preset: dict, work_dir: str) -> Config:
    """The preset's detector on ``--images`` shapes images, 2 passes, no validation or checkpoints."""
    cfg = Config.fromfile(osp.join(REPO, preset['config']))
    cfg.model.backbone.init_cfg = None  # no download; weights don't change the cost
    data = Config.fromfile(osp.join(REPO, SHAPES_CFG)).train_dataloader
    data.dataset.data_root = args.data_root.rstrip('/') + '/'
    data.dataset.indices = args.images
    data.update(batch_size=args.batch_size or preset['batch_size'], num_workers=0, persistent_workers=False)
    if preset['scale']:
        data.dataset.pipeline[2] = dict(type='Resize', scale=preset['scale'], keep_ratio=False)
    cfg.train_dataloader = data
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=100)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.randomness = dict(seed=0)
    cfg.work_dir = work_dir
    # mmengine keeps one MessageHub and one visualizer per name: a name per run, or the second run of the process
    # would log into the first one's (deleted) work dir
    cfg.experiment_name = f'pskd_overhead_{method}_{next(RUN_IDS)}'
    cfg.visualizer.pop('name', None)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
    if method == 'baseline':  # plain mmdet: stock RoI head and cross-entropy, no hook
        cfg.model.roi_head.type = 'StandardRoIHead'
        cfg.model.roi_head.pop('distill_loss')
        cfg.custom_hooks = []
    else:
        cfg.custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=STRATEGIES[method])]
    return cfg


def run_method(method: str, args, preset: dict) -> Dict[str, float]:
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner.from_cfg(method_config(method, args, preset, work_dir))
        timer = StepTimer()
        runner.register_hook(timer)
        runner.train()
    hook = next((h for h in runner.hooks if isinstance(h, PSKDHook)), None)
    teacher = hook.teacher if hook is not None else None
    stored = teacher.nbytes() if teacher is not None else 0
    images_stored = len(getattr(teacher, 'image_keys', set)())
    dataset = runner.train_dataloader.dataset
    gts = sum(len(dataset.get_data_info(i)['instances']) for i in range(len(dataset)))
    buffers = [getattr(teacher, name, {}) for name in ('prev_preds', 'cur_preds')]
    topk = getattr(teacher, 'topk', 0)
    hub = runner.message_hub
    return dict(
        step_s=statistics.median(timer.times),
        host_bytes=stored,
        gpu_peak=torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0,
        bytes_per_image=stored / images_stored if images_stored else 0.0,
        gts_per_image=gts / len(dataset),
        rows=sum(rows.values.size(0) for buffer in buffers for rows in buffer.values()),
        coverage=hub.get_scalar('train/pskd_coverage').current() if hook is not None else 0.0,
        row_bytes=2 * (4 + topk) + 2 * (1 + topk),  # fp16 + int16
    )


def main() -> None:
    args = parse_args()
    preset = PRESETS[args.preset]
    make_shapes_dataset(args.data_root)
    # the baseline runs first and last; its step time is the mean of both (warm-up and drift cancel out)
    results = {m: run_method(m, args, preset) for m in ['baseline', *STRATEGIES]}
    results['baseline']['step_s'] = (results['baseline']['step_s'] + run_method('baseline', args, preset)['step_s']) / 2
    base = results['baseline']
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    print(
        f'\nPS-KD overhead: {preset["config"]}, {device}, batch {args.batch_size or preset["batch_size"]}, '
        f'{args.images} images, pass 1 timed{", AMP" if args.amp else ""}'
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
