"""Apply a fitted post-hoc calibrator at test time: a config delta, no code change.

Why a forward hook on the detector: mmengine's ``TestLoop.run_iter`` calls
``model.test_step`` and then ``evaluator.process`` *before* any
``after_test_iter`` hook, so a hook acting on ``outputs`` there is too late
for the metrics. A PyTorch forward hook on the detector rewrites
``pred_instances.scores`` inside ``test_step``, before the evaluator, the
``--out`` dump and the visualiser see them; it works with the stock
``tools/test.py`` and every metric, needs no wrapper model or subclass, and
is removed again after the loop (training forwards are never touched).
"""

from typing import Optional

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper

from .score_calibrator import ScoreCalibrator


@HOOKS.register_module()
class PostHocCalibrationHook(Hook):
    """Calibrate the detector's scores with a ``tools/fit_calibrator.py`` file.

    Add to a config (or with ``--cfg-options`` to ``tools/test.py``)::

        default_hooks = dict(calibration=dict(
            type='PostHocCalibrationHook', calibrator='CKPT.temperature.calibrator.json'))

    Scores become float64 (float32 could merge near scores into ties and
    so change the ranking). The map is monotone per class: per-class AP,
    hence COCO mAP, does not change.

    Args:
        calibrator (str): Path of the calibrator JSON.
        apply_in_val (bool): Also calibrate during validation (e.g. while
            training). Defaults to False (test loop only).
    """

    priority = 'NORMAL'

    def __init__(self, calibrator: str, apply_in_val: bool = False) -> None:
        self.path = calibrator
        self.calibrator = ScoreCalibrator.load(calibrator)
        self.apply_in_val = apply_in_val
        self._handle: Optional[torch.utils.hooks.RemovableHandle] = None

    def _calibrate(self, module, args, output):
        """Forward hook: rewrite the scores of 'predict'-mode outputs."""
        if not isinstance(output, (list, tuple)):
            return output  # 'loss' (dict) or nothing to calibrate
        for sample in output:
            pred = getattr(sample, 'pred_instances', None)
            if pred is None or 'scores' not in pred:
                continue
            scores = pred.scores
            new = self.calibrator(scores.detach().cpu().numpy(), pred.labels.detach().cpu().numpy())
            pred.scores = torch.from_numpy(new).to(scores.device)
        return output

    def _attach(self, runner) -> None:
        model = runner.model
        # DDP wrappers and test-time augmentation call the detector's own
        # test_step, so the hook goes on the detector itself
        while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
            model = model.module
        self._handle = model.register_forward_hook(self._calibrate)
        print_log(
            f'PostHocCalibrationHook: {self.calibrator.method} '
            f'({"per class" if self.calibrator.per_class else "class-agnostic"}'
            f') from {self.path}',
            logger='current',
        )

    def _detach(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def before_test_epoch(self, runner) -> None:
        self._attach(runner)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._detach()

    def before_val_epoch(self, runner) -> None:
        if self.apply_in_val:
            self._attach(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._detach()
