"""The MrKD hook: owns the ring of model copies, refreshes it, logs its memory and checkpoints it."""

from mmdet.registry import HOOKS
from torch import nn

from ...memory.copy_ring_teacher import CopyRingTeacher
from ...models.losses import MrKDLoss
from .teacher_provider_hook import TeacherProviderHook, num_logits, unwrap_model


@HOOKS.register_module()
class MrKDHook(TeacherProviderHook):
    """Memory-replay knowledge distillation (Wang et al., arXiv 2009.05226) for two-stage detectors.

    ``before_train`` checks the model (``SelfKDRoIHead`` + ``MrKDLoss``) and attaches a
    :class:`~mmdet_selfkd.memory.copy_ring_teacher.CopyRingTeacher` (each copy re-scores the batch's
    proposals, on the student's preprocessed inputs); ``after_train_iter`` refreshes a copy after
    every ``interval``-th iteration and logs ``train/mrkd_copies`` and ``train/mrkd_memory_mb``. The
    copies are not in the model's ``state_dict``; they travel in the checkpoint as
    ``checkpoint['mrkd']``, so that resume is exact. Settings of the KD term are the loss's.

    Args:
        num_copies (int): Copies kept (ring size), >= 1. Default 2.
        interval (int): Iterations between two refreshes, >= 1. Default 500.
    """

    loss_type = MrKDLoss
    ckpt_key = 'mrkd'

    def __init__(self, num_copies: int = 2, interval: int = 500) -> None:
        super().__init__()
        if not (isinstance(num_copies, int) and num_copies >= 1):
            raise ValueError(f'MrKDHook(num_copies={num_copies!r}): the number of model copies must be an int >= 1.')
        if not (isinstance(interval, int) and interval >= 1):
            raise ValueError(f'MrKDHook(interval={interval!r}): the refresh interval must be an int >= 1 (iterations).')
        self.num_copies = num_copies
        self.interval = interval

    def build_provider(self, model: nn.Module) -> CopyRingTeacher:
        return CopyRingTeacher(num_logits(model.roi_head), self.num_copies, self.interval)

    def restore(self, model: nn.Module, state: dict) -> None:
        self.provider.load_state_dict(state, model)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        runner.logger.info(
            f'MrKD: {self.num_copies} model copies, one refreshed every {self.interval} iterations '
            f'({len(self.provider.filled())} restored).'
        )

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.provider.refresh(unwrap_model(runner), runner.iter)
        runner.message_hub.update_scalar('train/mrkd_copies', len(self.provider.filled()))
        runner.message_hub.update_scalar('train/mrkd_memory_mb', self.provider.nbytes() / 2**20)
