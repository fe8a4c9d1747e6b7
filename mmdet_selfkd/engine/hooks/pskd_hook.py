"""The PS-KD hook: a :class:`~.selfkd_hook.SelfKDHook` whose teacher is a prediction memory or the snapshot,
with the ``α_t`` ramp of :mod:`~mmdet_selfkd.engine.alpha_schedule`."""

from typing import Optional, Sequence

from mmdet.registry import HOOKS
from mmengine.dataset import ConcatDataset, RepeatDataset

from ...models.dense_heads import PSKDDenseHeadMixin
from ...models.losses import PSKDFocalLoss, PSKDLoss
from ...teachers import TEACHERS, GTMemory, PredictionMemory, Teacher
from ...teachers.pipeline_check import check_train_pipeline
from ...teachers.prediction_memory import convert_old_state
from .selfkd_hook import SelfKDHook, teacher_state_of


def dataset_image_keys(dataset) -> set:
    """Image keys (``img_path``) of every image a (Concat/Repeat) dataset yields."""
    if isinstance(dataset, RepeatDataset):
        return dataset_image_keys(dataset.dataset)
    if isinstance(dataset, ConcatDataset):
        return set().union(*(dataset_image_keys(d) for d in dataset.datasets))
    return {str(dataset.get_data_info(i)['img_path']) for i in range(len(dataset))}


def strategy_teacher(memory: dict) -> dict:
    """``memory=dict(strategy='gt', **options)`` as a teacher config: the registered teacher whose
    ``strategy`` attribute is the name (``GTMemory``: 'gt', ``IoUMemory``: 'iou', ``SnapshotTeacher``:
    'snapshot'; a newly registered teacher with a ``strategy`` joins them)."""
    options = dict(memory)
    strategy = options.pop('strategy', 'gt')
    names = {
        cls.strategy: name
        for name, cls in TEACHERS.module_dict.items()
        if isinstance(cls, type) and issubclass(cls, Teacher) and getattr(cls, 'strategy', None)
    }
    if strategy not in names:
        raise ValueError(
            f'PSKDHook(memory=dict(strategy={strategy!r})): unknown strategy; choose one of {sorted(names)}, or '
            "name a registered teacher: PSKDHook(teacher=dict(type='GTMemory'))."
        )
    return dict(type=names[strategy], **options)


@HOOKS.register_module()
class PSKDHook(SelfKDHook):
    """Progressive self-knowledge distillation (Kim et al., ICCV 2021) for two-stage and one-stage detectors.

    Needs a ``SelfKDRoIHead``/``SelfKDCascadeRoIHead`` with ``distill_loss=dict(type='PSKDLoss')``, or a
    ``PSKDRetinaHead``/``PSKDFCOSHead`` (``distill_loss=dict(type='PSKDFocalLoss')``). Logs ``train/pskd_alpha``,
    ``_pass``, ``_coverage``, ``_teacher_conf`` and ``_memory_mb``; the state goes to ``checkpoint['pskd']``.
    See :class:`~.selfkd_hook.SelfKDHook` for the lifecycle.

    Args:
        alpha_T (float): Teacher share at the last pass, in [0, 1]. Default 0.8 (the paper's).
        memory (dict, optional): The teacher by strategy: ``dict(strategy='gt' | 'iou' | 'snapshot', **options)``
            (options of :class:`~mmdet_selfkd.teachers.GTMemory`, :class:`~mmdet_selfkd.teachers.IoUMemory`,
            :class:`~mmdet_selfkd.teachers.SnapshotTeacher`). Default ``dict(strategy='gt')``.
        teacher (dict, optional): The teacher by registered type instead, e.g. ``dict(type='IoUMemory',
            iou_thr=0.7)``. Give ``memory`` or ``teacher``, not both. The dense heads take ``GTMemory`` and store
            every class score (sigmoid scores don't sum to 1: no ``topk``).
        by_iter (bool): Ramp alpha every iteration instead of once per pass.
        trusted_transforms (Sequence[str]): Class names of custom train transforms that never move boxes.
            The memories follow boxes across passes and refuse, at start, a pipeline with a transform they
            cannot undo (see :mod:`mmdet_selfkd.teachers.pipeline_check`).
    """

    ckpt_key = 'pskd'
    distill_types = (PSKDLoss, PSKDFocalLoss)

    def __init__(
        self,
        alpha_T: float = 0.8,
        memory: Optional[dict] = None,
        teacher: Optional[dict] = None,
        by_iter: bool = False,
        trusted_transforms: Sequence[str] = (),
    ) -> None:
        if memory is not None and teacher is not None:
            raise ValueError('PSKDHook: give memory=dict(strategy=...) or teacher=dict(type=...), not both.')
        self.memory_cfg = dict(memory) if memory is not None else None
        if teacher is None:
            teacher = strategy_teacher(memory or dict(strategy='gt'))
        self.trusted_transforms = tuple(trusted_transforms)
        super().__init__(teacher, alpha_T, by_iter)

    def setting(self) -> str:
        if self.memory_cfg is None:
            return super().setting()
        options = ', '.join(f'{key}={value!r}' for key, value in self.memory_cfg.items())
        return f'PSKDHook(memory=dict({options}))'

    def dense_head_hint(self) -> str:
        return (
            ", or model.bbox_head.type='PSKDRetinaHead' ('PSKDFCOSHead' for FCOS) with "
            "distill_loss=dict(type='PSKDFocalLoss')"
        )

    def check_run(self, runner, head) -> None:
        if isinstance(head, PSKDDenseHeadMixin):
            if type(self.teacher) is not GTMemory:
                raise ValueError(
                    f"{self.setting()}: {type(head).__name__} supports strategy='gt' only (teacher GTMemory: "
                    'anchors are taught by the GT they are assigned to).'
                )
            if 'topk' in self.teacher_cfg and self.teacher_cfg['topk'] != head.num_logits:
                raise ValueError(
                    f'{self.setting()}: {type(head).__name__} stores all {head.num_logits} sigmoid scores (they '
                    "don't sum to 1, so a top-k cannot be completed); remove topk."
                )
            self.teacher.topk = head.num_logits
        if isinstance(self.teacher, PredictionMemory):
            check_train_pipeline(runner.train_dataloader.dataset, self.setting(), self.trusted_transforms)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        runner.logger.info(
            f'PS-KD: teacher={type(self.teacher).__name__}, alpha_T={self.alpha_T}, '
            f'T={self.schedule.total_passes:g} passes of {self.schedule.iters_per_pass:g} iters, '
            f'starting in pass {self.open_pass}'
        )

    def restore(self, runner, model, state: dict) -> None:
        if isinstance(self.teacher, PredictionMemory):
            stale = self.memory_keys_outside(state, dataset_image_keys(runner.train_dataloader.dataset))
            if stale:
                raise ValueError(
                    f'PS-KD memory in the checkpoint holds {len(stale)} images that the training '
                    f'dataset does not have (e.g. {sorted(stale)[0]!r}): it was saved from a '
                    'different dataset. Resume from a checkpoint of this dataset, or use '
                    '`load_from` to start with an empty memory.'
                )
        super().restore(runner, model, state)

    @staticmethod
    def memory_keys_outside(state: dict, dataset_keys: set) -> set:
        memory = convert_old_state(teacher_state_of(state)[0])
        if 'prev_preds' not in memory:
            return set()
        return set(memory['prev_preds']['keys'] + memory['cur_preds']['keys']) - dataset_keys
