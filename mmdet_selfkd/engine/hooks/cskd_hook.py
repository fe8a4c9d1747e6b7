"""The CS-KD hook: attaches the class-wise pairing to ``CSKDLoss`` and logs how often a pair is found."""
from mmdet.registry import HOOKS
from torch import nn

from ...memory.class_pair_teacher import ClassPairTeacher
from ...models.losses import CSKDLoss
from .teacher_provider_hook import TeacherProviderHook


@HOOKS.register_module()
class CSKDHook(TeacherProviderHook):
    """Class-wise self-knowledge distillation (Yun et al., CVPR 2020) for two-stage detectors.

    ``before_train`` checks the model (``SelfKDRoIHead`` + ``CSKDLoss``) and attaches a
    :class:`~mmdet_selfkd.memory.class_pair_teacher.ClassPairTeacher`; ``after_train_iter`` logs
    ``train/cskd_pair_rate`` (share of positive RoIs that got a partner) and
    ``train/cskd_memory_pair_rate`` (share paired from the class memory of earlier batches). The class
    memory travels in the checkpoint as ``checkpoint['cskd']``. Settings (``T``, ``lambda``) are the loss's.
    """
    loss_type = CSKDLoss
    ckpt_key = 'cskd'

    def build_provider(self, model: nn.Module) -> ClassPairTeacher:
        return ClassPairTeacher()

    def restore(self, model: nn.Module, state: dict) -> None:
        self.provider.load_state_dict(state)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        runner.logger.info('CS-KD: positives paired with a same-class positive of another image '
                           '(batch first, then the class memory).')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        stats = self.provider.pop_stats()
        for name, value in stats.items():
            runner.message_hub.update_scalar(f'train/cskd_{name}', value)
