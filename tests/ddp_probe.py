"""A hook for the 2-rank DDP test: after the first pass, each rank dumps what it wrote itself, what its
memory holds after the all-gather, and which images it trained on."""

import os

import torch
from mmdet.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook


@HOOKS.register_module()
class MemoryProbeHook(Hook):
    priority = 'ABOVE_NORMAL'  # before PSKDHook (NORMAL): sees each iteration's records before the sync

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self.seen, self.own = set(), {}

    def _pskd(self, runner):
        return next(hook for hook in runner.hooks if type(hook).__name__ == 'PSKDHook')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen |= {sample.img_path for sample in data_batch['data_samples']}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for (stage, key), rows_by_kind in self._pskd(runner).teacher.pending.items():  # this rank's records
            self.own.update({(stage, kind, key): rows for kind, rows in rows_by_kind.items()})

    def after_train_epoch(self, runner):  # the first pass is over: every iteration has been synced
        if runner.epoch == 0:  # mmengine counts the epoch up after this hook
            memory = self._pskd(runner).teacher
            torch.save(
                dict(
                    seen=sorted(self.seen),
                    own=self.own,
                    merged={**memory.prev_preds, **memory.cur_preds},
                    world_size=torch.distributed.get_world_size(),
                    backend=torch.distributed.get_backend(),
                ),
                os.path.join(self.out_dir, f'rank{get_rank()}.pt'),
            )
