"""Where alpha is scheduled: ``alpha_t = alpha_T * (t + 1) / T``, ``t`` the 0-based pass over the data.

This is the reference PS-KD code's schedule (lgcnsai/PS-KD-Pytorch ``main.py``:
``alpha_t = alpha_T * ((epoch + 1) / total_epochs)``): the last pass (``t = T - 1``) trains at ``alpha_T``,
as the paper says. The first pass (``t = 0``) has no past prediction to learn from, so its targets are
one-hot whatever alpha is; for ``T = 4`` and ``alpha_T = 0.8`` the passes train at one-hot, 0.4, 0.6, 0.8.

A pass is one sweep over the underlying images. With ``RepeatDataset(times=r)`` one runner epoch is
``r`` passes; in an iteration-based loop a pass is ``ceil(len(dataset) / (batch_size * world_size))``
iterations. PS-KD (Kim et al., ICCV 2021) updates alpha once per pass (``by_iter=False``);
``by_iter=True`` ramps it every iteration along the same line, with ``t`` the fractional number of
passes done: it equals the per-pass value at the start of every pass from the second on, rises
linearly in between and stays at ``alpha_T`` through the last pass (0 during the first pass, which has
no memory to learn from).
"""

import math
from dataclasses import dataclass

from mmengine.dataset import ConcatDataset, RepeatDataset
from mmengine.dist import get_world_size
from mmengine.runner import IterBasedTrainLoop


def repeat_times(dataset) -> int:
    """How many times the runner's dataset repeats its underlying images (``RepeatDataset`` nesting)."""
    if isinstance(dataset, RepeatDataset):
        return dataset.times * repeat_times(dataset.dataset)
    if isinstance(dataset, ConcatDataset):
        times = {repeat_times(d) for d in dataset.datasets}
        if len(times) > 1:
            raise ValueError(
                'PSKDHook cannot count passes over a ConcatDataset whose parts repeat a different '
                f'number of times ({sorted(times)}): wrap the ConcatDataset in one RepeatDataset.'
            )
        return times.pop()
    return 1


@dataclass
class AlphaSchedule:
    """Pass counter and alpha ramp of one training run.

    Args:
        alpha_T (float): Final teacher share, in [0, 1].
        total_passes (float): ``T``: passes over the data in the whole run.
        iters_per_pass (float): Iterations per pass (per rank).
        passes_per_epoch (int): Passes per runner epoch (1 for iteration-based loops).
        iters_per_epoch (int): Iterations per runner epoch (0 for iteration-based loops).
        by_iter (bool): Ramp alpha every iteration instead of once per pass.
    """

    alpha_T: float
    total_passes: float
    iters_per_pass: float
    passes_per_epoch: int = 1
    iters_per_epoch: int = 0
    by_iter: bool = False

    @classmethod
    def from_runner(cls, runner, alpha_T: float, by_iter: bool = False) -> 'AlphaSchedule':
        loop = runner.train_loop
        dataloader = loop.dataloader
        times = repeat_times(dataloader.dataset)
        if not isinstance(loop, IterBasedTrainLoop):
            iters_per_epoch = len(dataloader)
            return cls(alpha_T, loop.max_epochs * times, iters_per_epoch / times, times, iters_per_epoch, by_iter)
        num_images = len(dataloader.dataset) / times
        # mmdet's AspectRatioBatchSampler leaves DataLoader.batch_size unset
        batch_size = dataloader.batch_size or dataloader.batch_sampler.batch_size
        iters_per_pass = math.ceil(num_images / (batch_size * get_world_size()))
        return cls(alpha_T, loop.max_iters / iters_per_pass, iters_per_pass, by_iter=by_iter)

    def progress(self, global_iter: int) -> float:
        """Passes done before iteration ``global_iter`` (0-based), fractional. Counted per epoch in
        epoch loops, so that uneven last batches never shift a pass across an epoch boundary."""
        if self.iters_per_epoch:
            epoch, inner = divmod(global_iter, self.iters_per_epoch)
            return epoch * self.passes_per_epoch + min(inner / self.iters_per_pass, self.passes_per_epoch - 1e-9)
        return global_iter / self.iters_per_pass

    def pass_index(self, global_iter: int) -> int:
        """``t``: the 0-based pass that iteration ``global_iter`` belongs to."""
        return int(self.progress(global_iter))

    def alpha(self, global_iter: int) -> float:
        """``alpha_t = alpha_T * (t + 1) / T``; ``t`` fractional when ``by_iter``; 0 in the first pass."""
        t = self.progress(global_iter) if self.by_iter else self.pass_index(global_iter)
        if t < 1:
            return 0.0
        return self.alpha_T * min((t + 1) / self.total_passes, 1.0)
