"""Teacher states that mmdet_selfkd 0.1 wrote into checkpoints resume with the current hooks (CS-KD, MrKD; PS-KD's
memories are covered in tests/test_teachers/test_pskd_memory.py). The 0.1 layouts are written out by hand here,
as release 0.1's ``state_dict`` methods wrote them: CS-KD's bare class bank under ``checkpoint['cskd']``, MrKD's
ring (``num_logits``, ``num_copies``, ``interval``, and per slot the snapshot state ``strategy``/``num_classes``/
``snapshot``) under ``checkpoint['mrkd']``, neither with the ``dict(open_pass, teacher)`` wrapper of today."""

import pytest
import torch
from torch import nn

from mmdet_selfkd.engine import CSKDHook, MrKDHook
from mmdet_selfkd.teachers import RoIBatch
from mmdet_selfkd.teachers.roi_batch import ImageRoIs


class Runner:
    """What the hooks' checkpoint lifecycle reads of mmengine's runner."""

    class logger:
        @staticmethod
        def warning(message):
            raise AssertionError(message)


class Detector(nn.Module):
    """A model with a backbone, the template the restored MrKD copies are made from."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(3, 2)


def lone_positive(key, label):
    """An image with one positive of class ``label`` and no other image of that class in its batch."""
    box = torch.tensor([[0.0, 0.0, 8.0, 8.0]])
    return ImageRoIs(key, box, torch.tensor([label]), box, torch.tensor([0]), 0, torch.full((1, 3), 1 / 3))


def test_cskd_class_bank_of_release_0_1_resumes_and_teaches():
    stored = torch.tensor([0.1, 0.7, 0.2])
    old = dict(stages=[0], labels=[1], keys=['seen.jpg'], probs=[stored])  # 0.1: the bare bank
    hook = CSKDHook()
    hook.teacher.bind(None, 3)
    hook.after_load_checkpoint(Runner, {'cskd': old})
    hook.restore(Runner, None, hook._restored)
    # a class-1 positive alone in its batch is taught by the bank's class-1 entry of another image
    probs, has_teacher = hook.teacher(RoIBatch(stage=0, images=[lone_positive('new.jpg', 1)]))
    assert has_teacher.tolist() == [True]
    assert torch.allclose(probs[0], stored)
    # saved again, in today's layout: per class the newest image and one other, the restored one
    saved = hook.teacher.state_dict()
    assert saved['type'] == 'ClassPairTeacher' and saved['keys'] == ['new.jpg', 'seen.jpg']


def test_mrkd_copies_of_release_0_1_resume():
    student = Detector()
    weights = {name: torch.full_like(t, 0.5) for name, t in student.state_dict().items()}
    slot = dict(strategy='snapshot', num_classes=3, snapshot=weights)
    old = dict(num_logits=3, num_copies=2, interval=4, slots=[slot, dict(slot, snapshot=None)])
    hook = MrKDHook(num_copies=2, interval=4)
    hook.teacher.bind(student, 3)
    hook.after_load_checkpoint(Runner, {'mrkd': old})
    hook.restore(Runner, student, hook._restored)
    (copy,) = hook.teacher.filled()
    assert all(torch.equal(t, weights[name]) for name, t in copy.snapshot.state_dict().items())
    assert copy.snapshot is not student and not any(p.requires_grad for p in copy.snapshot.parameters())
    assert hook.teacher.state_dict()['type'] == 'CopyRingTeacher'
    # a 0.1 state saved with other settings is refused by name
    other = MrKDHook(num_copies=2, interval=8)
    other.teacher.bind(student, 3)
    with pytest.raises(ValueError, match='interval=4 .* interval=8'):
        other.restore(Runner, student, old)
