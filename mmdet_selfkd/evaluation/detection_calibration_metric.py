"""Detection calibration metric: D-ECE, MCE and reliability diagrams.

Implements the confidence-only detection expected calibration error of
Küppers et al., "Multivariate Confidence Calibration for Object Detection"
(CVPR-W 2020). A detector is calibrated when, among the detections it reports
with confidence ``c``, a fraction ``c`` are correct (true positives).

Protocol (the defaults, as in the train-time calibration papers): IoU 0.5,
score >= 0.3, 10 equal bins, all classes pooled, binary (TP/FP) targets,
greedy matching. For the localisation-aware, class-wise LaECE_0 and LRP of
Kuzucu et al. (ECCV 2024) see :class:`~.laece_metric.LaECEMetric`;
docs/calibration.md compares the two.
"""

import math
import os.path as osp
import pickle
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmdet.evaluation.functional import bbox_overlaps
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.utils import mkdir_or_exist


def _to_numpy(x, dtype=np.float32) -> np.ndarray:
    """Convert a tensor, mmdet ``BaseBoxes`` or array-like to numpy."""
    if hasattr(x, 'tensor'):  # mmdet BaseBoxes (e.g. HorizontalBoxes)
        x = x.tensor
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def match_detections(
    det_bboxes: np.ndarray,
    det_scores: np.ndarray,
    det_labels: np.ndarray,
    gt_bboxes: np.ndarray,
    gt_labels: np.ndarray,
    gt_ignore: Optional[np.ndarray] = None,
    iou_thr: float = 0.5,
    return_ious: bool = False,
) -> Tuple[np.ndarray, ...]:
    """Greedily match the detections of one image to its ground truth.

    Detections are visited by decreasing score (stable for ties). Each one is
    a true positive if some not-yet-matched, non-ignored GT box of the same
    class has IoU >= ``iou_thr``; it takes the one with the highest IoU.
    Otherwise it is a false positive (wrong class, poor localisation, or a
    duplicate of an already matched GT), unless it lies inside an ignored GT
    box (COCO ``iscrowd``) of the same class, i.e. intersection over the
    detection's own area >= ``iou_thr`` as in COCO's crowd rule; such
    detections are neither right nor wrong and are flagged as ignored.

    With ``iou_thr=0`` (the LaECE_0 / LRP protocol of Kuzucu et al., ECCV
    2024, as in their COCO-style evaluator) a detection takes any unmatched
    GT of its class, the best-overlapping one, even at IoU 0. Ties in IoU go
    to the later GT, as in pycocotools' ``evaluateImg``.

    Args:
        det_bboxes (np.ndarray): (N, 4) detection boxes, xyxy.
        det_scores (np.ndarray): (N,) confidences.
        det_labels (np.ndarray): (N,) class indices.
        gt_bboxes (np.ndarray): (M, 4) GT boxes, xyxy, same frame as
            ``det_bboxes``.
        gt_labels (np.ndarray): (M,) GT class indices.
        gt_ignore (np.ndarray, optional): (M,) bool, True for ignored GT.
            Defaults to None (nothing ignored).
        iou_thr (float): Matching threshold. Defaults to 0.5.
        return_ious (bool): Also return the IoU of each true positive with
            its GT (0 for the others). Defaults to False.

    Returns:
        tuple[np.ndarray, ...]: ``(is_tp, is_ignored)``, two (N,) bool
        arrays in the input order of the detections, and ``tp_ious``, (N,)
        float, if ``return_ious``.
    """
    det_bboxes = np.asarray(det_bboxes, dtype=np.float32).reshape(-1, 4)
    gt_bboxes = np.asarray(gt_bboxes, dtype=np.float32).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels)
    if gt_ignore is None:
        gt_ignore = np.zeros(len(gt_labels), dtype=bool)
    gt_ignore = np.asarray(gt_ignore, dtype=bool)

    ious = bbox_overlaps(det_bboxes, gt_bboxes[~gt_ignore])
    iofs = bbox_overlaps(det_bboxes, gt_bboxes[gt_ignore], mode='iof')
    valid_labels, ignore_labels = gt_labels[~gt_ignore], gt_labels[gt_ignore]

    is_tp = np.zeros(len(det_bboxes), dtype=bool)
    is_ignored = np.zeros(len(det_bboxes), dtype=bool)
    tp_ious = np.zeros(len(det_bboxes), dtype=np.float64)
    gt_matched = np.zeros(len(valid_labels), dtype=bool)
    for i in np.argsort(-np.asarray(det_scores), kind='stable'):
        candidates = (valid_labels == det_labels[i]) & ~gt_matched & (ious[i] >= iou_thr)
        if candidates.any():
            # best IoU; ties go to the later GT, as in pycocotools
            overlaps = np.where(candidates, ious[i], -1.0)[::-1]
            best = len(overlaps) - 1 - np.argmax(overlaps)
            gt_matched[best] = True
            is_tp[i] = True
            tp_ious[i] = ious[i, best]
        else:
            is_ignored[i] = np.any((ignore_labels == det_labels[i]) & (iofs[i] >= iou_thr))
    if return_ious:
        return is_tp, is_ignored, tp_ious
    return is_tp, is_ignored


def calibration_errors(confidences: np.ndarray, correct: np.ndarray, num_bins: int = 10) -> Dict[str, np.ndarray]:
    """Binned calibration errors of detection confidences.

    Confidences are split into ``B = num_bins`` equal-width bins
    ``[k/B, (k+1)/B)`` over [0, 1] (1.0 falls into the last bin; values are
    binned as stored, e.g. float32 0.9 is just below 0.9). With
    ``n_b`` detections in bin ``b``, ``prec_b`` the fraction of them that are
    true positives and ``conf_b`` their mean confidence::

        D-ECE = sum_b (n_b / N) * |prec_b - conf_b|
        MCE   = max_{b: n_b > 0} |prec_b - conf_b|

    Args:
        confidences (np.ndarray): (N,) confidences in [0, 1].
        correct (np.ndarray): (N,) bool, True for true positives.
        num_bins (int): Number of bins. Defaults to 10.

    Returns:
        dict: ``dece``, ``mce`` (NaN when N == 0), ``precision`` and
        ``avg_conf`` over all detections, ``num_dets``, and per bin:
        ``bin_edges`` (B + 1,), ``bin_counts``, ``bin_precision`` and
        ``bin_confidence`` (B,), the last two NaN for empty bins.
    """
    conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
    hits = np.asarray(correct, dtype=np.float64).reshape(-1)
    if conf.shape != hits.shape:
        raise ValueError(f'confidences and correct must have the same length, got {conf.size} and {hits.size}')
    if np.any((conf < 0) | (conf > 1)):
        raise ValueError('confidences must lie in [0, 1]')

    bin_ids = np.minimum((conf * num_bins).astype(np.int64), num_bins - 1)
    counts = np.bincount(bin_ids, minlength=num_bins)
    filled = counts > 0
    bin_precision = np.full(num_bins, np.nan)
    bin_confidence = np.full(num_bins, np.nan)
    bin_precision[filled] = np.bincount(bin_ids, weights=hits, minlength=num_bins)[filled] / counts[filled]
    bin_confidence[filled] = np.bincount(bin_ids, weights=conf, minlength=num_bins)[filled] / counts[filled]

    num_dets = conf.size
    gaps = np.abs(bin_precision - bin_confidence)[filled]
    empty = num_dets == 0
    return dict(
        dece=np.nan if empty else float(np.sum(counts[filled] / num_dets * gaps)),
        mce=np.nan if empty else float(gaps.max()),
        precision=np.nan if empty else float(hits.mean()),
        avg_conf=np.nan if empty else float(conf.mean()),
        num_dets=num_dets,
        bin_edges=np.linspace(0.0, 1.0, num_bins + 1),
        bin_counts=counts,
        bin_precision=bin_precision,
        bin_confidence=bin_confidence,
    )


def plot_reliability_diagram(
    stats: Dict[str, np.ndarray], ax: Optional[Axes] = None, hist_ax: Optional[Axes] = None, title: Optional[str] = None
) -> Figure:
    """Draw a reliability diagram from :func:`calibration_errors` output.

    Bars show the precision of each confidence bin, hatched red bars the gap
    to the bin's mean confidence, the dashed diagonal perfect calibration.
    Uses no pyplot (no display or global backend needed).

    Args:
        stats (dict): Output of :func:`calibration_errors`.
        ax (Axes, optional): Axes for the diagram, e.g. one panel of a
            side-by-side comparison. If None, a new figure is created with
            the diagram on top and a histogram of bin counts below.
        hist_ax (Axes, optional): Axes for the bin-count histogram when
            ``ax`` is given; no histogram is drawn if None.
        title (str, optional): Title. Defaults to the D-ECE and MCE values.

    Returns:
        Figure: The figure holding ``ax``.
    """
    if ax is None:
        fig = Figure(figsize=(5, 6.5), layout='constrained')
        ax, hist_ax = fig.subplots(2, 1, sharex=True, gridspec_kw=dict(height_ratios=(3, 1)))
    edges = stats['bin_edges']
    centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    filled = stats['bin_counts'] > 0
    precision = stats['bin_precision'][filled]
    confidence = stats['bin_confidence'][filled]

    ax.bar(centers[filled], precision, width=width[filled], color='tab:blue', edgecolor='black', label='Precision')
    ax.bar(
        centers[filled],
        confidence - precision,
        bottom=precision,
        width=width[filled],
        color='tab:red',
        alpha=0.3,
        hatch='//',
        edgecolor='tab:red',
        label='Gap to confidence',
    )
    ax.plot([0, 1], [0, 1], 'k--', label='Perfect calibration')
    ax.set(xlim=(0, 1), ylim=(0, 1), ylabel='Precision')
    ax.legend(loc='upper left')
    ax.set_title(title if title is not None else f'D-ECE = {stats["dece"]:.4f}, MCE = {stats["mce"]:.4f}')
    if hist_ax is None:
        ax.set_xlabel('Confidence')
    else:
        hist_ax.bar(centers, stats['bin_counts'], width=width, color='tab:gray', edgecolor='black')
        hist_ax.set(xlim=(0, 1), xlabel='Confidence', ylabel='# detections')
    return ax.figure


def plot_reliability_diagrams(
    panels: Mapping[str, Dict[str, np.ndarray]], notes: Optional[Mapping[str, str]] = None, panel_width: float = 3.6
) -> Figure:
    """Reliability diagrams side by side, e.g. of several methods.

    One column per entry of ``panels``: the diagram of
    :func:`plot_reliability_diagram` above its bin-count histogram, titled
    with the entry's name, its D-ECE ('n/a' without detections) and number
    of detections. Uses no pyplot.

    Args:
        panels (Mapping[str, dict]): Name -> :func:`calibration_errors`
            output, in column order.
        notes (Mapping[str, str], optional): Name -> text appended to that
            panel's title (e.g. ``'3 seed(s)'``).
        panel_width (float): Width of one column in inches. Defaults to 3.6.

    Returns:
        Figure: The figure; ``fig.savefig(path)`` writes it.
    """
    if not panels:
        raise ValueError('plot_reliability_diagrams needs at least one panel')
    notes = notes or {}
    fig = Figure(figsize=(panel_width * len(panels), 5), layout='constrained')
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, len(panels), squeeze=False, sharex=True, gridspec_kw=dict(height_ratios=(3, 1)))
    for col, (name, stats) in enumerate(panels.items()):
        dece = 'n/a' if math.isnan(stats['dece']) else f'{stats["dece"]:.3f}'
        note = f', {notes[name]}' if notes.get(name) else ''
        plot_reliability_diagram(
            stats, ax=axes[0, col], hist_ax=axes[1, col], title=f'{name}\nD-ECE {dece}, {stats["num_dets"]} dets{note}'
        )
    return fig


@METRICS.register_module()
class DetectionCalibrationMetric(BaseMetric):
    """Detection calibration (D-ECE, MCE) of a detector's kept detections.

    Per image, detections with ``score >= score_thr`` are matched greedily to
    the ground truth (see :func:`match_detections`); detections matching only
    ignored GT are dropped. The pooled confidences and TP flags give (see
    :func:`calibration_errors`)::

        D-ECE = sum_b (n_b / N) * |prec_b - conf_b|
        MCE   = max_{b: n_b > 0} |prec_b - conf_b|

    ``score_thr`` defaults to 0.3 because D-ECE is about the detections a
    user keeps: the long tail of near-zero-score boxes is almost all false
    positives whose confidence ~ precision ~ 0, which would dominate N and
    make every detector look well calibrated.

    Ground truth, in original-image coordinates like the (rescaled)
    ``pred_instances``, is read per data sample from:

    1. ``instances`` (raw dataset annotations: ``bbox`` xyxy, ``bbox_label``,
       ``ignore_flag``) when the pipeline packs it via ``PackDetInputs``
       ``meta_keys``; always in the original frame.
    2. otherwise ``gt_instances`` and ``ignored_instances`` (COCO ``iscrowd``
       / ``ignore_flag`` boxes), as mmdet's ``VOCMetric`` does. These are in
       the original frame only if ``LoadAnnotations`` comes after ``Resize``
       in the test pipeline, as in mmdet's stock test pipelines ("avoid
       bboxes being resized"); otherwise add ``'instances'`` to the
       ``PackDetInputs`` meta_keys.

    Each evaluation saves a reliability diagram
    ``reliability_<prefix>_<n>.png`` (``n`` = first unused index, so nothing
    is overwritten) into ``out_dir``, or, if None, into the directory of the
    current :class:`MMLogger` log file (the runner's
    ``work_dir/<timestamp>/``).

    Args:
        iou_thr (float): IoU threshold for a true positive, in (0, 1].
            Defaults to 0.5.
        score_thr (float): Minimum score of the evaluated detections, in
            [0, 1). Defaults to 0.3.
        num_bins (int): Number of equal-width confidence bins over [0, 1],
            >= 1. Defaults to 10.
        out_dir (str, optional): Directory for reliability diagrams.
            Defaults to None (log file directory; not saved if there is none).
        save_diagram (bool): Whether to save reliability diagrams.
            Defaults to True.
        pairs_file (str, optional): If given, each evaluation also saves
            the evaluated detections' ``scores``, ``labels`` and ``is_tp``
            (pooled over images) to this ``.npz`` file, overwriting it, so
            diagrams can be redrawn or pooled over runs later (see
            :func:`plot_reliability_diagrams`). Defaults to None.
        dets_file (str, optional): If given, each evaluation also pickles
            every image's detections, all of them (not only those with
            ``score >= score_thr``), and its ground truth to this file,
            overwriting it: a list with one :func:`image_detections` dict
            per image, what :func:`mmdet_selfkd.calibration.calibration_report`
            and ``cross_fitted_scores`` take (LaECE_0, post-hoc calibration
            after the run). Defaults to None.
        collect_device (str): Device for collecting results across ranks,
            'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to None
            (``'calib'``).

    Results (prefixed, e.g. ``calib/dece``): ``dece``, ``mce``,
    ``dece_per_class`` (mean D-ECE over classes with kept detections),
    ``precision`` and ``avg_conf`` (over all kept detections; their
    difference tells over- vs under-confidence) and ``num_dets``.
    """

    default_prefix: Optional[str] = 'calib'

    def __init__(
        self,
        iou_thr: float = 0.5,
        score_thr: float = 0.3,
        num_bins: int = 10,
        out_dir: Optional[str] = None,
        save_diagram: bool = True,
        pairs_file: Optional[str] = None,
        dets_file: Optional[str] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0 < iou_thr <= 1:
            raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr}')
        if not 0 <= score_thr < 1:
            raise ValueError(f'score_thr must be in [0, 1), got {score_thr}')
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
            raise ValueError(f'num_bins must be an integer >= 1, got {num_bins!r}')
        self.iou_thr = iou_thr
        self.score_thr = score_thr
        self.num_bins = num_bins
        self.out_dir = out_dir
        self.save_diagram = save_diagram
        self.pairs_file = pairs_file
        self.dets_file = dets_file

    @staticmethod
    def _ground_truth(data_sample: dict) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return GT ``(bboxes, labels, ignore)`` in original coordinates."""
        if 'instances' in data_sample:
            anns = data_sample['instances']
            return (
                _to_numpy([a['bbox'] for a in anns]).reshape(-1, 4),
                _to_numpy([a['bbox_label'] for a in anns], np.int64),
                _to_numpy([a.get('ignore_flag', 0) for a in anns], bool),
            )
        if 'gt_instances' not in data_sample:
            raise KeyError(
                'DetectionCalibrationMetric needs ground truth in the data '
                'samples: keep LoadAnnotations in the test pipeline or add '
                "'instances' to the PackDetInputs meta_keys"
            )
        parts = (data_sample['gt_instances'], data_sample.get('ignored_instances') or {})
        bboxes = [_to_numpy(p.get('bboxes', np.zeros((0, 4)))).reshape(-1, 4) for p in parts]
        labels = [_to_numpy(p.get('labels', []), np.int64) for p in parts]
        ignore = np.repeat([False, True], [len(lb) for lb in labels])
        return np.concatenate(bboxes), np.concatenate(labels), ignore

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Match each image's kept detections and store confidences/TP flags (and, with ``dets_file``, all
        of the image's detections and its ground truth).

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Data samples as dicts, with
                ``pred_instances`` (``bboxes``, ``scores``, ``labels``) in
                original-image coordinates and ground truth (see class doc).
        """
        for data_sample in data_samples:
            pred = data_sample['pred_instances']
            scores = _to_numpy(pred['scores']).reshape(-1)
            keep = scores >= self.score_thr
            labels = _to_numpy(pred['labels'], np.int64).reshape(-1)[keep]
            bboxes = _to_numpy(pred['bboxes']).reshape(-1, 4)[keep]
            scores = scores[keep]
            is_tp, is_ignored = match_detections(
                bboxes, scores, labels, *self._ground_truth(data_sample), iou_thr=self.iou_thr
            )
            valid = ~is_ignored
            image = image_detections(data_sample) if self.dets_file is not None else None
            self.results.append((scores[valid], labels[valid], is_tp[valid], image))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Compute D-ECE/MCE over all images and save a reliability diagram.

        Args:
            results (list[tuple]): ``(scores, labels, is_tp, image)`` per image; ``image`` is the
                :func:`image_detections` dict with ``dets_file``, else None.

        Returns:
            dict[str, float]: ``dece``, ``mce``, ``dece_per_class``,
            ``precision``, ``avg_conf`` and ``num_dets``.
        """
        logger = MMLogger.get_current_instance()
        empty = (np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, bool))
        scores, labels, is_tp = (np.concatenate(x) for x in zip(empty, *(result[:3] for result in results)))
        if self.pairs_file is not None:
            mkdir_or_exist(osp.dirname(osp.abspath(self.pairs_file)))
            np.savez(self.pairs_file, scores=scores, labels=labels, is_tp=is_tp)
        if self.dets_file is not None:
            mkdir_or_exist(osp.dirname(osp.abspath(self.dets_file)))
            with open(self.dets_file, 'wb') as f:
                pickle.dump([result[3] for result in results], f)
        stats = calibration_errors(scores, is_tp, self.num_bins)
        per_class = [
            calibration_errors(scores[labels == c], is_tp[labels == c], self.num_bins)['dece']
            for c in np.unique(labels)
        ]
        metrics = dict(
            dece=stats['dece'],
            mce=stats['mce'],
            dece_per_class=float(np.mean(per_class)) if per_class else np.nan,
            precision=stats['precision'],
            avg_conf=stats['avg_conf'],
            num_dets=stats['num_dets'],
        )
        if stats['num_dets'] == 0:
            logger.warning(
                f'DetectionCalibrationMetric: no detection with score >= {self.score_thr}; D-ECE is undefined.'
            )
        elif self.save_diagram:
            self._save_diagram(stats, logger)
        return metrics

    def _save_diagram(self, stats: Dict[str, np.ndarray], logger: MMLogger) -> None:
        """Save the reliability diagram under a not-yet-used file name."""
        out_dir = self.out_dir
        if out_dir is None and logger.log_file is not None:
            out_dir = osp.dirname(osp.abspath(logger.log_file))
        if out_dir is None:
            print_log(
                'DetectionCalibrationMetric: no out_dir and no log file; reliability diagram not saved.', logger=logger
            )
            return
        mkdir_or_exist(out_dir)
        stem = osp.join(out_dir, f'reliability_{self.prefix.replace("/", "_")}_')
        index = 0
        while osp.exists(f'{stem}{index}.png'):
            index += 1
        fig = plot_reliability_diagram(stats)
        fig.savefig(f'{stem}{index}.png', dpi=120)
        print_log(f'Reliability diagram saved to {stem}{index}.png', logger=logger)


def image_detections(data_sample: dict) -> Dict[str, np.ndarray]:
    """One image's detections, all of them, and its ground truth as numpy arrays, in the original-image frame.

    Args:
        data_sample (dict): A data sample with ``pred_instances`` and ground truth, as the metrics read it
            (see :class:`DetectionCalibrationMetric`).

    Returns:
        dict: ``bboxes`` (N, 4) xyxy float32, ``scores`` (N,) float64, ``labels`` (N,) int64, ``gt_bboxes``
        (M, 4), ``gt_labels`` (M,) and ``gt_ignore`` (M,) bool (crowd / ignored boxes).
    """
    pred = data_sample['pred_instances']
    gt_bboxes, gt_labels, gt_ignore = DetectionCalibrationMetric._ground_truth(data_sample)
    return dict(
        bboxes=_to_numpy(pred['bboxes']).reshape(-1, 4),
        scores=_to_numpy(pred['scores'], np.float64).reshape(-1),
        labels=_to_numpy(pred['labels'], np.int64).reshape(-1),
        gt_bboxes=gt_bboxes,
        gt_labels=gt_labels,
        gt_ignore=gt_ignore,
    )
