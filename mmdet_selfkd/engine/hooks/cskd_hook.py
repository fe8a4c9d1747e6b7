"""The CS-KD hook: a :class:`~.selfkd_hook.SelfKDHook` whose teacher is the class-wise pairing."""

from mmdet.registry import HOOKS

from ...datasets.class_pair_batch_sampler import ClassPairBatchSampler  # noqa: F401 (also registers it)
from ...models.losses import CSKDLoss
from .selfkd_hook import SelfKDHook


@HOOKS.register_module()
class CSKDHook(SelfKDHook):
    """Class-wise self-knowledge distillation (Yun et al., CVPR 2020) for two-stage detectors.

    Needs a ``SelfKDRoIHead`` with ``distill_loss=dict(type='CSKDLoss')``; builds a
    :class:`~mmdet_selfkd.teachers.ClassPairTeacher`, logs where partners come from, then
    ``train/cskd_pair_rate`` (share of positive RoIs that got a partner) and ``train/cskd_memory_pair_rate``
    (share paired from the class memory of earlier batches). The class memory travels in the checkpoint as
    ``checkpoint['cskd']``. Settings of the KD term (``T``, ``lambda``) are the loss's; ``alpha_t`` is 1.

    Partners come first from the batch: with
    ``train_dataloader.batch_sampler=dict(type='ClassPairBatchSampler')`` (the package's CS-KD configs)
    every drawn image brings an image sharing one of its classes, so the teacher is the current network,
    as in the reference. Positives still without one (e.g. of a class the partner image lacks) take the
    class memory when ``use_memory`` is True.

    Args:
        use_memory (bool): Whether positives without an in-batch partner distil from the class memory of
            earlier batches (True, default) or get the cross-entropy only (False).
    """

    ckpt_key = 'cskd'
    distill_types = (CSKDLoss,)

    def __init__(self, use_memory: bool = True) -> None:
        self.use_memory = use_memory
        super().__init__(dict(type='ClassPairTeacher', use_memory=use_memory))

    def setting(self) -> str:
        return f'CSKDHook(use_memory={self.use_memory!r})'

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
