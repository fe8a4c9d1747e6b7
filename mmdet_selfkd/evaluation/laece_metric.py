"""LaECE and LRP: the joint calibration/accuracy evaluation of Kuzucu et al.

Kuzucu, Oksuz, Sadeghi and Dokania, "On Calibration of Object Detectors:
Pitfalls, Evaluation and Baselines", ECCV 2024 (code:
github.com/fiveai/detection_calibration).
"""

from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from .detection_calibration_metric import DetectionCalibrationMetric, _to_numpy, match_detections
from .laece import localisation_calibration_error
from .lrp import lrp_optimal


@METRICS.register_module()
class LaECEMetric(BaseMetric):
    """Localisation-aware calibration error (LaECE_0) and LRP, per class.

    Protocol of Kuzucu et al. (ECCV 2024), as in their reference code:

    1. Per image, all detections are matched greedily by decreasing score to
       same-class GT at IoU >= ``iou_thr`` (0 by default: any unmatched GT of
       the class, the best-overlapping first; see
       :func:`match_detections`); detections on crowd/ignored GT are dropped.
    2. Per class with ground truth, LRP (see :mod:`.lrp`)::

           LRP = (sum_TP (1 - IoU)/(1 - tau) + FP + FN) / (TP + FP + FN)

       is minimised over the score threshold: oLRP and the class's
       LRP-optimal threshold.
    3. The class's detections with score >= its threshold (``score_thr``:
       LRP-optimal by default, or a fixed value) give (see :mod:`.laece`),
       with 25 equal right-closed bins::

           LaECE_c = sum_b (n_b / N_c) |sum_{TP in b} IoU / n_b - conf_b|

       i.e. the target of a bin is its precision times the mean IoU of its
       true positives.
    4. ``laece0`` (``laece`` if ``iou_thr`` > 0) is the mean of LaECE_c over
       classes with ground truth and kept detections; ``olrp`` (and its
       components ``olrp_loc``, ``olrp_fp``, ``olrp_fn``) the mean over
       classes with ground truth. Classes without ground truth in the
       evaluated set are left out of both, as in the reference.

    Differences to the reference code: there, a class whose LaECE is
    exactly 0 is dropped from the mean (``bin_sum[bin_sum == 0] = nan``);
    here it counts as 0. The reference fits the LRP-optimal thresholds on a
    validation split and applies them to the test split; with
    ``score_thr='lrp_optimal'`` this metric takes them from the evaluated
    split itself (pass the validation thresholds as a list to reproduce the
    reference exactly). The D-ECE of :class:`DetectionCalibrationMetric` is
    a different protocol (IoU 0.5, score >= 0.3, 10 bins, class-agnostic,
    binary targets).

    Args:
        iou_thr (float): IoU threshold ``tau`` of a true positive, in [0, 1).
            Defaults to 0 (LaECE_0).
        num_bins (int): Number of confidence bins, >= 1. Defaults to 25.
        score_thr (float | str | Sequence[float]): ``'lrp_optimal'``
            (default), one threshold for all classes, or one per class
            (NaN: keep all).
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to None
            (``'laece'``).

    Results (prefixed): ``laece0``, ``olrp``, ``olrp_loc``, ``olrp_fp``,
    ``olrp_fn``, ``num_dets`` (detections kept by the thresholds) and
    ``num_classes`` (classes averaged in ``laece0``).
    """

    default_prefix: Optional[str] = 'laece'

    def __init__(
        self,
        iou_thr: float = 0.0,
        num_bins: int = 25,
        score_thr: Union[float, str, Sequence[float]] = 'lrp_optimal',
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0 <= iou_thr < 1:
            raise ValueError(f'iou_thr must be in [0, 1), got {iou_thr}')
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
            raise ValueError(f'num_bins must be an integer >= 1, got {num_bins!r}')
        if isinstance(score_thr, str) and score_thr != 'lrp_optimal':
            raise ValueError(f"score_thr must be 'lrp_optimal', a float or a list of floats, got {score_thr!r}")
        self.iou_thr = iou_thr
        self.num_bins = num_bins
        self.score_thr = score_thr

    @property
    def key(self) -> str:
        """Name of the calibration error: ``laece0`` at IoU 0."""
        return 'laece0' if self.iou_thr == 0 else 'laece'

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Match each image's detections; keep scores, labels, TP IoUs.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Data samples with
                ``pred_instances`` in original-image coordinates and ground
                truth, as for :class:`DetectionCalibrationMetric`.
        """
        for data_sample in data_samples:
            pred = data_sample['pred_instances']
            scores = _to_numpy(pred['scores'], np.float64).reshape(-1)
            labels = _to_numpy(pred['labels'], np.int64).reshape(-1)
            bboxes = _to_numpy(pred['bboxes']).reshape(-1, 4)
            gt_bboxes, gt_labels, gt_ignore = DetectionCalibrationMetric._ground_truth(data_sample)
            is_tp, is_ignored, tp_ious = match_detections(
                bboxes, scores, labels, gt_bboxes, gt_labels, gt_ignore, iou_thr=self.iou_thr, return_ious=True
            )
            valid = ~is_ignored
            self.results.append(
                (
                    scores[valid],
                    labels[valid],
                    np.where(is_tp, tp_ious, 0.0)[valid],
                    is_tp[valid],
                    gt_labels[~gt_ignore],
                )
            )

    def _thresholds(self, num_classes: int) -> Optional[np.ndarray]:
        if self.score_thr == 'lrp_optimal':
            return None
        thr = np.asarray(self.score_thr, dtype=np.float64).reshape(-1)
        if thr.size == 1:
            return np.full(num_classes, thr[0])
        if thr.size < num_classes:
            raise ValueError(f'{thr.size} score thresholds for {num_classes} classes')
        return thr

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Compute LaECE and oLRP over all images.

        Args:
            results (list[tuple]): ``(scores, labels, tp_ious, is_tp,
                gt_labels)`` per image.

        Returns:
            dict[str, float]: see the class doc.
        """
        empty = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool), np.zeros(0, np.int64))
        scores, labels, tp_ious, is_tp, gt_labels = (np.concatenate(x) for x in zip(empty, *results))
        num_classes = len((self.dataset_meta or {}).get('classes', ())) or (
            int(max(labels.max(initial=-1), gt_labels.max(initial=-1))) + 1
        )
        fixed = self._thresholds(num_classes)
        num_gts = np.bincount(gt_labels, minlength=num_classes)

        laeces, lrps, thresholds, num_dets = [], [], {}, 0
        for c in np.flatnonzero(num_gts):
            sel = labels == c
            lrp = lrp_optimal(scores[sel], is_tp[sel], tp_ious[sel], int(num_gts[c]), self.iou_thr)
            lrps.append(lrp)
            thr = lrp['threshold'] if fixed is None else fixed[c]
            thresholds[int(c)] = thr
            keep = sel if np.isnan(thr) else sel & (scores >= thr)
            if keep.any():
                laeces.append(localisation_calibration_error(scores[keep], tp_ious[keep], self.num_bins)['laece'])
                num_dets += int(keep.sum())

        def mean(key: str) -> float:
            values = [lrp[key] for lrp in lrps]
            valid = [v for v in values if not np.isnan(v)]
            return float(np.mean(valid)) if valid else np.nan

        print_log(
            'LaECEMetric: score thresholds per class: ' + ', '.join(f'{c}: {t:.4f}' for c, t in thresholds.items()),
            logger=MMLogger.get_current_instance(),
        )
        return {
            self.key: float(np.mean(laeces)) if laeces else np.nan,
            'olrp': mean('olrp'),
            'olrp_loc': mean('olrp_loc'),
            'olrp_fp': mean('olrp_fp'),
            'olrp_fn': mean('olrp_fn'),
            'num_dets': num_dets,
            'num_classes': len(laeces),
        }
