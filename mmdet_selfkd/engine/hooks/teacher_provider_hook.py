"""Base of the hooks that own a teacher provider (CS-KD, MrKD): model checks, attaching, checkpointing."""

from typing import List, Optional, Type

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from ...memory.teacher_provider import TeacherProvider
from ...models.losses import ProvidedTeacherKDLoss
from ...models.roi_heads import SelfKDRoIHeadMixin


def unwrap_model(runner) -> nn.Module:
    """The runner's model without its (DDP) wrapper."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def num_logits(roi_head) -> int:
    """Logits per RoI (background included), the same in every stage."""
    heads = roi_head.bbox_head if isinstance(roi_head.bbox_head, nn.ModuleList) else [roi_head.bbox_head]
    return heads[0].num_classes + 1


class TeacherProviderHook(Hook):
    """Builds the provider in ``before_train``, attaches it to every stage's ``loss_type`` loss, and carries
    its state in the checkpoint under ``ckpt_key`` (outside the model's ``state_dict``)."""

    priority = 'NORMAL'
    loss_type: Type[ProvidedTeacherKDLoss] = ProvidedTeacherKDLoss
    ckpt_key = ''

    def __init__(self) -> None:
        self.provider: Optional[TeacherProvider] = None
        self._restored: Optional[dict] = None

    def build_provider(self, model: nn.Module) -> TeacherProvider:
        raise NotImplementedError

    def restore(self, model: nn.Module, state: dict) -> None:
        """Load the provider's checkpoint state."""
        raise NotImplementedError

    def before_train(self, runner) -> None:
        model = unwrap_model(runner)
        losses = self.check_model(model)
        self.provider = self.build_provider(model)
        for loss in losses:
            loss.teacher_provider = self.provider
        if self._restored is not None:
            self.restore(model, self._restored)
            self._restored = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.provider is not None:
            checkpoint[self.ckpt_key] = self.provider.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.ckpt_key in checkpoint:
            self._restored = checkpoint[self.ckpt_key]
        else:
            runner.logger.warning(
                f'{type(self).__name__}: the checkpoint has no {self.ckpt_key!r} state (it comes '
                f'from a run without {type(self).__name__}): starting from an empty one.'
            )

    def check_model(self, model: nn.Module) -> List[ProvidedTeacherKDLoss]:
        """The ``loss_type`` losses of the model's RoI head; ValueError if there are none."""
        hook, loss_name = type(self).__name__, self.loss_type.__name__
        roi_head = getattr(model, 'roi_head', None)
        if not isinstance(roi_head, SelfKDRoIHeadMixin):
            raise ValueError(
                f'{hook} needs a self-KD RoI head, got {type(roi_head).__name__}: set '
                "model.roi_head.type='SelfKDRoIHead' (or 'SelfKDCascadeRoIHead' for Cascade R-CNN)."
            )
        losses = [loss for loss in roi_head.provided_teacher_losses() if isinstance(loss, self.loss_type)]
        if not losses:
            raise ValueError(
                f'{hook} is in custom_hooks but no RoI head stage uses {loss_name}: set '
                f"model.roi_head.bbox_head.loss_cls=dict(type='{loss_name}')."
            )
        return losses
