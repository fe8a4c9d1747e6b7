"""What tools/train.py and tools/test.py share: config loading, launcher setup, work-dir safety."""

import os
import os.path as osp
from glob import glob
from typing import Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config

from ..compat import require_pkg_resources


def load_config(path: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None) -> Config:
    """Read a config (``mmdet::`` bases allowed), merge ``--cfg-options``, settle ``work_dir``."""
    require_pkg_resources()
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher``; on machines without CUDA, start a gloo process group ourselves.

    mmengine's 'pytorch' launcher calls ``torch.cuda.set_device`` and picks NCCL, which fails on CPU.
    Starting the group first (from torchrun's environment) makes the Runner skip its own init, and
    ``device_ids=None`` lets DDP wrap a CPU model. Multi-node runs take the same path.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ValueError(f'--launcher {launcher} needs CUDA; on CPU use --launcher pytorch with torchrun.')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)


def teardown_launcher() -> None:
    """Destroy the process group before exit: a gloo group left to interpreter shutdown can abort."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def guard_work_dir(work_dir: str, resume: Optional[str]) -> None:
    """Refuse to train over the checkpoints of an earlier run unless it is being resumed."""
    found: Sequence[str] = sorted(glob(osp.join(work_dir, '*.pth')))
    if found and resume is None and int(os.environ.get('RANK', '0')) == 0:
        raise FileExistsError(
            f'{work_dir} already holds checkpoints of an earlier run ({osp.basename(found[-1])}, ...), which '
            'this run would overwrite: pass --resume to continue it, or --work-dir to train elsewhere.'
        )
