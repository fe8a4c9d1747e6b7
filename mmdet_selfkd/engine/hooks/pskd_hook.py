"""The PS-KD hook: owns the prediction memory, counts passes, sets alpha_t, syncs and checkpoints."""

from typing import Optional, Sequence

from mmdet.registry import HOOKS
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...memory import PredictionMemory, build_memory
from ...memory.pipeline_check import check_train_pipeline
from ...models.dense_heads import PSKDDenseHeadMixin
from ...models.roi_heads import SelfKDRoIHeadMixin
from ..alpha_schedule import AlphaSchedule

CKPT_KEY = 'pskd'


def dataset_image_keys(dataset) -> set:
    """Image keys (``img_path``) of every image a (Concat/Repeat) dataset yields."""
    if isinstance(dataset, RepeatDataset):
        return dataset_image_keys(dataset.dataset)
    if isinstance(dataset, ConcatDataset):
        return set().union(*(dataset_image_keys(d) for d in dataset.datasets))
    return {str(dataset.get_data_info(i)['img_path']) for i in range(len(dataset))}


@HOOKS.register_module()
class PSKDHook(Hook):
    """Progressive self-knowledge distillation (Kim et al., ICCV 2021) for two-stage and one-stage detectors.

    Lifecycle: ``before_train`` checks the model (``PSKDRoIHead`` + ``PSKDLoss``, or ``PSKDRetinaHead``/
    ``PSKDFCOSHead`` + ``PSKDFocalLoss``), builds the memory and attaches it to the head;
    ``before_train_iter`` closes a finished pass and sets ``alpha_t`` on every PS-KD loss; ``after_train_iter``
    all-gathers the iteration's predictions across ranks and logs alpha, coverage, teacher confidence and
    memory size; ``before_save_checkpoint``/``after_load_checkpoint``
    carry the memory and the pass counter in the checkpoint (``checkpoint['pskd']``), outside the
    model's ``state_dict`` so that the detector stays a plain mmdet model.

    Args:
        alpha_T (float): Teacher share at the last pass, in [0, 1]. Default 0.8 (the paper's).
        memory (dict): ``strategy`` ('gt', 'iou' or 'snapshot') and its options: ``topk`` and
            ``mean_iou_thr`` (gt, iou), ``iou_thr`` and ``fallback`` (iou). See :mod:`mmdet_selfkd.memory`. The
            dense heads (``PSKDRetinaHead``, ``PSKDFCOSHead``) take ``gt`` and store every class score (sigmoid
            scores don't sum to 1: no ``topk``).
        by_iter (bool): Ramp alpha every iteration instead of once per pass.
        trusted_transforms (Sequence[str]): Class names of custom train transforms that never move boxes.
            The ``gt`` and ``iou`` memories follow boxes across passes and refuse, at start, a pipeline
            with a transform they cannot undo (see :mod:`mmdet_selfkd.memory.pipeline_check`).
    """

    priority = 'NORMAL'

    def __init__(
        self,
        alpha_T: float = 0.8,
        memory: Optional[dict] = None,
        by_iter: bool = False,
        trusted_transforms: Sequence[str] = (),
    ) -> None:
        if not 0 <= alpha_T <= 1:
            raise ValueError(f'PSKDHook(alpha_T={alpha_T}): alpha_T must be in [0, 1] (the paper uses 0.8).')
        self.alpha_T = alpha_T
        self.memory_cfg = dict(memory or dict(strategy='gt'))
        build_memory(num_classes=2, **self.memory_cfg)  # fail on bad options at build time
        self.by_iter = by_iter
        self.trusted_transforms = tuple(trusted_transforms)
        self.memory = None
        self.schedule: Optional[AlphaSchedule] = None
        self.open_pass = 0
        self._restored: Optional[dict] = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        model = self._model(runner)
        head = self._pskd_head(model)
        self.losses = head.pskd_losses()
        self.memory = build_memory(num_classes=head.pskd_num_classes(), **self._memory_options(head))
        if isinstance(self.memory, PredictionMemory):
            check_train_pipeline(runner.train_dataloader.dataset, self._setting(), self.trusted_transforms)
        self.schedule = AlphaSchedule.from_runner(runner, self.alpha_T, self.by_iter)
        self.open_pass = self.schedule.pass_index(runner.iter)
        if self._restored is not None:
            self._restore(runner, model, self._restored)
            self._restored = None
        head.pskd_memory = self.memory
        runner.logger.info(
            f'PS-KD: strategy={self.memory.strategy}, alpha_T={self.alpha_T}, '
            f'T={self.schedule.total_passes:g} passes of {self.schedule.iters_per_pass:g} iters, '
            f'starting in pass {self.open_pass}'
        )

    def before_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None) -> None:
        self._advance(runner)
        alpha = self.schedule.alpha(runner.iter)
        for loss in self.losses:
            loss.alpha_t = alpha

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.memory.sync()  # all ranks store all ranks' predictions of this iteration
        stats = [loss.last_stats for loss in self.losses if loss.last_stats]
        hub = runner.message_hub
        hub.update_scalar('train/pskd_alpha', self.losses[0].alpha_t)
        hub.update_scalar('train/pskd_pass', self.open_pass)
        hub.update_scalar('train/pskd_memory_mb', self.memory.nbytes() / 2**20)
        if stats:
            hub.update_scalar('train/pskd_coverage', sum(s['coverage'] for s in stats) / len(stats))
            hub.update_scalar('train/pskd_teacher_conf', sum(s['teacher_conf'] for s in stats) / len(stats))

    def after_train_epoch(self, runner) -> None:
        self._advance(runner)  # an epoch always ends a pass: sync before CheckpointHook saves

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.memory is not None:
            checkpoint[CKPT_KEY] = dict(open_pass=self.open_pass, memory=self.memory.state_dict())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if CKPT_KEY in checkpoint:
            self._restored = checkpoint[CKPT_KEY]
        else:
            runner.logger.warning(
                'PS-KD: the resumed checkpoint has no PS-KD memory (it comes from a run '
                'without PSKDHook): starting with an empty memory, one-hot targets until '
                'a pass has been recorded.'
            )

    # --- helpers -----------------------------------------------------------------------------------
    def _advance(self, runner) -> None:
        """Close every pass that ended before the current iteration."""
        current = self.schedule.pass_index(runner.iter)
        if current > self.open_pass:
            self.memory.end_pass(self._model(runner))
            self.open_pass = current

    def _restore(self, runner, model, state: dict) -> None:
        if self.memory.strategy in ('gt', 'iou'):
            stale = self.memory_keys_outside(state, dataset_image_keys(runner.train_dataloader.dataset))
            if stale:
                raise ValueError(
                    f'PS-KD memory in the checkpoint holds {len(stale)} images that the training '
                    f'dataset does not have (e.g. {sorted(stale)[0]!r}): it was saved from a '
                    'different dataset. Resume from a checkpoint of this dataset, or use '
                    '`load_from` to start with an empty memory.'
                )
            self.memory.load_state_dict(state['memory'])
        else:
            self.memory.load_state_dict(state['memory'], model)
        self.open_pass = state['open_pass']

    @staticmethod
    def memory_keys_outside(state: dict, dataset_keys: set) -> set:
        memory = state['memory']
        return set(memory['prev_preds']['keys'] + memory['cur_preds']['keys']) - dataset_keys

    def _setting(self) -> str:
        options = ', '.join(f'{key}={value!r}' for key, value in self.memory_cfg.items())
        return f'PSKDHook(memory=dict({options}))'

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    @staticmethod
    def _pskd_head(model):
        """The head that PS-KD teaches: a PS-KD RoI head, or a PS-KD dense head (RetinaNet, FCOS)."""
        roi_head, bbox_head = getattr(model, 'roi_head', None), getattr(model, 'bbox_head', None)
        if isinstance(roi_head, SelfKDRoIHeadMixin):
            if not roi_head.pskd_losses():
                raise ValueError(
                    'PSKDHook is in custom_hooks but no RoI head stage uses PSKDLoss: set '
                    "model.roi_head.bbox_head.loss_cls=dict(type='PSKDLoss', loss_weight=1.0)."
                )
            return roi_head
        if isinstance(bbox_head, PSKDDenseHeadMixin):
            return bbox_head  # its loss_cls is checked when it is built
        found = type(roi_head if roi_head is not None else bbox_head).__name__
        raise ValueError(
            f"PSKDHook needs a PS-KD RoI head, got {found}: set model.roi_head.type='PSKDRoIHead' "
            "(or 'PSKDCascadeRoIHead' for Cascade R-CNN), or model.bbox_head.type='PSKDRetinaHead' "
            "for RetinaNet ('PSKDFCOSHead' for FCOS)."
        )

    def _memory_options(self, head) -> dict:
        """The memory settings for ``head``: sigmoid heads keep the ``gt`` strategy and every class score."""
        options = dict(self.memory_cfg)
        if not isinstance(head, PSKDDenseHeadMixin):
            return options
        num_classes = head.pskd_num_classes()
        if options.get('strategy', 'gt') != 'gt':
            raise ValueError(
                f'PSKDHook(memory=dict(strategy={options["strategy"]!r})): {type(head).__name__} '
                "supports strategy='gt' only (anchors are taught by the GT they are assigned to)."
            )
        if options.get('topk', num_classes) != num_classes:
            raise ValueError(
                f'PSKDHook(memory=dict(topk={options["topk"]})): {type(head).__name__} stores all '
                f"{num_classes} sigmoid scores (they don't sum to 1, so a top-k cannot be "
                'completed); remove topk.'
            )
        return dict(options, topk=num_classes)
