"""The MrKD hook: a :class:`~.selfkd_hook.SelfKDHook` whose teacher is a ring of model copies."""

from mmdet.registry import HOOKS

from ...models.losses import MrKDLoss
from .selfkd_hook import SelfKDHook


@HOOKS.register_module()
class MrKDHook(SelfKDHook):
    """Memory-replay knowledge distillation (Wang et al., arXiv 2009.05226) for two-stage detectors.

    Needs a ``SelfKDRoIHead`` with ``distill_loss=dict(type='MrKDLoss')``; builds a
    :class:`~mmdet_selfkd.teachers.CopyRingTeacher` (each copy re-scores the batch's proposals, on the
    student's preprocessed inputs), which refreshes a copy after every ``interval``-th iteration; logs
    ``train/mrkd_copies`` and ``train/mrkd_memory_mb``. The copies are not in the model's ``state_dict``; they
    travel in the checkpoint as ``checkpoint['mrkd']``, so that resume is exact. Settings of the KD term are
    the loss's; ``alpha_t`` is 1.

    Args:
        num_copies (int): Copies kept (ring size), >= 1. Default 2.
        interval (int): Iterations between two refreshes, >= 1. Default 500.
    """

    ckpt_key = 'mrkd'
    distill_types = (MrKDLoss,)

    def __init__(self, num_copies: int = 2, interval: int = 500) -> None:
        self.num_copies, self.interval = num_copies, interval
        super().__init__(dict(type='CopyRingTeacher', num_copies=num_copies, interval=interval))

    def setting(self) -> str:
        return f'MrKDHook(num_copies={self.num_copies!r}, interval={self.interval!r})'

    def before_train(self, runner) -> None:
        super().before_train(runner)
        runner.logger.info(
            f'MrKD: {self.num_copies} model copies, one refreshed every {self.interval} iterations '
            f'({len(self.teacher.filled())} restored).'
        )
