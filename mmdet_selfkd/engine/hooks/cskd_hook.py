"""The CS-KD hook: attaches the class-wise pairing to ``CSKDLoss`` and logs how often a pair is found."""

from mmdet.registry import HOOKS
from torch import nn

from ...datasets.class_pair_batch_sampler import ClassPairBatchSampler  # noqa: F401 (also registers it)
from ...memory.class_pair_teacher import ClassPairTeacher
from ...models.losses import CSKDLoss
from .teacher_provider_hook import TeacherProviderHook


@HOOKS.register_module()
class CSKDHook(TeacherProviderHook):
    """Class-wise self-knowledge distillation (Yun et al., CVPR 2020) for two-stage detectors.

    ``before_train`` checks the model (``SelfKDRoIHead`` + ``CSKDLoss``), attaches a
    :class:`~mmdet_selfkd.memory.class_pair_teacher.ClassPairTeacher` and logs where partners come from;
    ``after_train_iter`` logs ``train/cskd_pair_rate`` (share of positive RoIs that got a partner) and
    ``train/cskd_memory_pair_rate`` (share paired from the class memory of earlier batches). The class
    memory travels in the checkpoint as ``checkpoint['cskd']``. Settings (``T``, ``lambda``) are the loss's.

    Partners come first from the batch: with
    ``train_dataloader.batch_sampler=dict(type='ClassPairBatchSampler')`` (the package's CS-KD configs)
    every drawn image brings an image sharing one of its classes, so the teacher is the current network,
    as in the reference. Positives still without one (e.g. of a class the partner image lacks) take the
    class memory when ``use_memory`` is True.

    Args:
        use_memory (bool): Whether positives without an in-batch partner distil from the class memory of
            earlier batches (True, default) or get the cross-entropy only (False).
    """

    loss_type = CSKDLoss
    ckpt_key = 'cskd'

    def __init__(self, use_memory: bool = True) -> None:
        super().__init__()
        self.use_memory = use_memory

    def build_provider(self, model: nn.Module) -> ClassPairTeacher:
        return ClassPairTeacher(use_memory=self.use_memory)

    def restore(self, model: nn.Module, state: dict) -> None:
        self.provider.load_state_dict(state)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        memory = 'then the class memory' if self.use_memory else 'no class memory'
        batch_sampler = getattr(getattr(getattr(runner, 'train_loop', None), 'dataloader', None), 'batch_sampler', None)
        if isinstance(batch_sampler, ClassPairBatchSampler):
            runner.logger.info(
                'CS-KD: positives paired with a same-class positive of another image (the batch '
                f'holds a same-class partner image for each drawn image: ClassPairBatchSampler; '
                f'{memory}).'
            )
        else:
            log = runner.logger.info if self.use_memory else runner.logger.warning
            log(
                f'CS-KD: positives paired with a same-class positive of another image (batch, {memory}); the train '
                'dataloader does not use ClassPairBatchSampler, so batches hold no partner images by design and '
                + (
                    'most partners will come from the class memory'
                    if self.use_memory
                    else 'few positives will be paired'
                )
                + ": set train_dataloader.batch_sampler=dict(type='ClassPairBatchSampler') for in-batch "
                'pairs (see train/cskd_pair_rate and train/cskd_memory_pair_rate).'
            )

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        stats = self.provider.pop_stats()
        for name, value in stats.items():
            runner.message_hub.update_scalar(f'train/cskd_{name}', value)
