"""The one hook base of the self-KD methods: builds the teacher, attaches it, schedules and publishes
``alpha_t``, syncs the teacher across ranks, logs it and carries it in the checkpoint.

PS-KD, CS-KD and MrKD are configurations of it (:class:`~.pskd_hook.PSKDHook`, :class:`~.cskd_hook.CSKDHook`,
:class:`~.mrkd_hook.MrKDHook`); a new method's teacher runs under the base itself,
``dict(type='SelfKDHook', teacher=dict(type='MyTeacher'), alpha_T=0.8, ckpt_key='mine')``. Lifecycle:

* ``before_train``: check the model (a self-KD head whose ``distill_loss`` is one of :attr:`SelfKDHook.distill_types`),
  bind the teacher to it, restore a resumed state, attach it (``head.teacher``);
* ``before_train_iter``: close a finished pass (:meth:`~mmdet_selfkd.teachers.Teacher.end_pass`) and publish
  ``alpha_t`` once in mmengine's ``MessageHub`` (runtime info ``selfkd_alpha_t``), where the head reads it;
* ``after_train_iter``: :meth:`~mmdet_selfkd.teachers.Teacher.sync` (once per iteration), then
  :meth:`~mmdet_selfkd.teachers.Teacher.after_iter`, then log ``train/<prefix>_alpha``, ``_pass``, ``_memory_mb``
  and the teacher's :meth:`~mmdet_selfkd.teachers.Teacher.pop_stats`;
* ``before_save_checkpoint``/``after_load_checkpoint``: ``checkpoint[<ckpt_key>] = dict(open_pass, teacher)``,
  outside the model's ``state_dict``, so that the detector stays a plain mmdet model. States saved by
  mmdet_selfkd 0.1 (``dict(open_pass, memory)`` for PS-KD, the bare teacher state for CS-KD and MrKD) load too.
"""

from typing import Optional, Tuple

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from ...models.dense_heads import PSKDDenseHeadMixin
from ...models.losses import DistillLoss
from ...models.roi_heads import SelfKDRoIHeadMixin
from ...models.selfkd_head import ALPHA_T
from ...teachers import TEACHERS, Teacher
from ..alpha_schedule import AlphaSchedule


def unwrap_model(runner) -> nn.Module:
    """The runner's model without its (DDP) wrapper."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


@HOOKS.register_module()
class SelfKDHook(Hook):
    """Base of the self-KD hooks, and the hook of any registered teacher.

    Args:
        teacher (dict): The teacher, ``dict(type=..., **options)`` (see :mod:`mmdet_selfkd.teachers`).
        alpha_T (float, optional): Teacher weight at the last pass, in [0, 1], ramped by
            :class:`~mmdet_selfkd.engine.AlphaSchedule`; None: ``alpha_t = 1`` throughout, no pass counting.
        by_iter (bool): Ramp alpha every iteration instead of once per pass.
        ckpt_key (str, optional): Where the teacher's state goes in the checkpoint, and the prefix of the logged
            scalars; None: the class's (``'selfkd'`` for this base).
    """

    priority = 'NORMAL'
    #: where the state goes in the checkpoint, and the prefix of the logged scalars
    ckpt_key = 'selfkd'
    #: the distillation losses whose teacher this hook builds (this base: any)
    distill_types: Tuple[type, ...] = (DistillLoss,)

    def __init__(
        self, teacher: dict, alpha_T: Optional[float] = None, by_iter: bool = False, ckpt_key: Optional[str] = None
    ) -> None:
        if ckpt_key is not None:
            if not (isinstance(ckpt_key, str) and ckpt_key.isidentifier()):
                raise ValueError(
                    f"{type(self).__name__}(ckpt_key={ckpt_key!r}): give a short name such as 'classmean' (letters, "
                    'digits, underscores): it keys the checkpoint entry and prefixes the logged scalars.'
                )
            self.ckpt_key = ckpt_key
        if alpha_T is not None and not 0 <= alpha_T <= 1:
            raise ValueError(
                f'{type(self).__name__}(alpha_T={alpha_T}): alpha_T must be in [0, 1] (the paper uses 0.8).'
            )
        self.alpha_T = alpha_T
        self.by_iter = by_iter
        self.teacher_cfg = dict(teacher)
        try:
            self.teacher: Teacher = TEACHERS.build(self.teacher_cfg)
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f'{self.setting()}: {err}') from err
        self.schedule: Optional[AlphaSchedule] = None
        self.open_pass = 0
        self._restored: Optional[dict] = None

    def setting(self) -> str:
        """How the user wrote the teacher, for error messages."""
        options = ', '.join(f'{key}={value!r}' for key, value in self.teacher_cfg.items())
        return f'{type(self).__name__}(teacher=dict({options}))'

    # --- lifecycle ---------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        model = unwrap_model(runner)
        head = self.check_head(model)
        self.check_run(runner, head)
        self.teacher.bind(model, head.num_logits)
        if self.alpha_T is not None:
            self.schedule = AlphaSchedule.from_runner(runner, self.alpha_T, self.by_iter)
            self.open_pass = self.schedule.pass_index(runner.iter)
        if self._restored is not None:
            self.restore(runner, model, self._restored)
            self._restored = None
        head.teacher = self.teacher

    def before_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None) -> None:
        self._advance(runner)
        runner.message_hub.update_info(ALPHA_T, self.alpha_t(runner.iter))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.teacher.sync()  # all ranks hold all ranks' records of this iteration
        self.teacher.after_iter(unwrap_model(runner), runner.iter)
        hub, prefix = runner.message_hub, f'train/{self.ckpt_key}'
        if self.schedule is not None:
            hub.update_scalar(f'{prefix}_alpha', self.alpha_t(runner.iter))
            hub.update_scalar(f'{prefix}_pass', self.open_pass)
        hub.update_scalar(f'{prefix}_memory_mb', self.teacher.nbytes() / 2**20)
        for name, value in self.teacher.pop_stats().items():
            hub.update_scalar(f'{prefix}_{name}', value)

    def after_train_epoch(self, runner) -> None:
        self._advance(runner)  # an epoch always ends a pass: before CheckpointHook saves

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[self.ckpt_key] = dict(open_pass=self.open_pass, teacher=self.teacher.state_dict())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.ckpt_key in checkpoint:
            self._restored = checkpoint[self.ckpt_key]
        else:
            runner.logger.warning(
                f'{type(self).__name__}: the resumed checkpoint has no {self.ckpt_key!r} teacher state (it comes from '
                f'a run without {type(self).__name__}): starting with an empty teacher.'
            )

    # --- what subclasses may refine -----------------------------------------------------------------
    def alpha_t(self, global_iter: int) -> float:
        """The teacher weight of iteration ``global_iter`` (1 without a schedule)."""
        return 1.0 if self.schedule is None else self.schedule.alpha(global_iter)

    def check_head(self, model: nn.Module):
        """The self-KD head of ``model`` whose ``distill_loss`` this hook teaches; ValueError naming the fix."""
        hook, names = type(self).__name__, ' or '.join(t.__name__ for t in self.distill_types)
        roi_head, bbox_head = getattr(model, 'roi_head', None), getattr(model, 'bbox_head', None)
        head = roi_head if isinstance(roi_head, SelfKDRoIHeadMixin) else bbox_head
        if not isinstance(head, (SelfKDRoIHeadMixin, PSKDDenseHeadMixin)):
            found = type(roi_head if roi_head is not None else bbox_head).__name__
            raise ValueError(
                f"{hook} needs a self-KD head, got {found}: set model.roi_head.type='SelfKDRoIHead' ("
                f"'SelfKDCascadeRoIHead' for Cascade R-CNN) with model.roi_head.distill_loss={self.loss_hint()}"
                + self.dense_head_hint()
                + '.'
            )
        if not isinstance(head.distill_loss, self.distill_types):
            found = type(head.distill_loss).__name__ if head.distill_loss is not None else 'None'
            path = 'model.roi_head' if head is roi_head else 'model.bbox_head'
            raise ValueError(
                f'{hook} is in custom_hooks but the head uses no {names} (distill_loss={found}): set '
                f'{path}.distill_loss={self.loss_hint()}.'
            )
        return head

    def loss_hint(self) -> str:
        """The ``distill_loss`` this hook teaches, as a config shows it (for error messages)."""
        if self.distill_types[0] is DistillLoss:
            return "dict(type=...), a registered DistillLoss subclass (e.g. 'PSKDLoss')"
        return f"dict(type='{self.distill_types[0].__name__}')"

    def dense_head_hint(self) -> str:
        """How to use the method with a dense head, if it can be (for error messages)."""
        return ''

    def check_run(self, runner, head) -> None:
        """Checks of the run's settings before training starts (none by default)."""

    def restore(self, runner, model: nn.Module, state: dict) -> None:
        """Load a checkpoint's state (of this version, or of mmdet_selfkd 0.1)."""
        teacher_state, open_pass = teacher_state_of(state)
        self.teacher.load_state_dict(teacher_state, model)
        if open_pass is not None and self.schedule is not None:
            self.open_pass = open_pass

    def _advance(self, runner) -> None:
        """Close every pass that ended before the current iteration."""
        if self.schedule is None:
            return
        current = self.schedule.pass_index(runner.iter)
        if current > self.open_pass:
            self.teacher.end_pass(unwrap_model(runner))
            self.open_pass = current


def teacher_state_of(state: dict) -> tuple:
    """``(teacher state, open_pass or None)`` of a checkpoint entry, of this version or of mmdet_selfkd 0.1."""
    if 'teacher' in state:
        return state['teacher'], state.get('open_pass')
    if 'memory' in state:  # PS-KD, 0.1
        return state['memory'], state.get('open_pass')
    return state, None  # CS-KD, MrKD, 0.1: the bare teacher state
