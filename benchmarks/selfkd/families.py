"""Model and dataset families: one config per method, how to prepare their data, their modes."""

from dataclasses import dataclass
from typing import Callable, Dict, Optional

from mmdet_selfkd.configs import METHOD_CONFIGS

from .data import (
    AQUARIUM_BASE_CONFIG,
    BCCD_BASE_CONFIG,
    PreparedData,
    config_data_root,
    prepare_aquarium,
    prepare_bccd,
    prepare_shapes,
)
from .modes import AQUARIUM_MODES, BCCD_MODES, BENCHMARK_METHODS, REFERENCE, SHAPES_MODES, ModeSettings

# (data_dir, settings, data_root) -> PreparedData: see Family.prepare_data
PrepareData = Callable[[str, ModeSettings, Optional[str]], PreparedData]


@dataclass(frozen=True)
class Family:
    """Configs of one model and dataset, one per method, how to get their data, and the run sizes.

    Attributes:
        description (str): Model and data, for the table caption.
        configs (dict[str, str]): Method -> config path, relative to the repository root.
        prepare_data (callable): ``(data_dir, settings, data_root) -> PreparedData``: writes (or converts) the
            data under ``data_dir``; ``data_root`` is the dataset folder (None for generated data).
        modes (dict[str, ModeSettings]): Mode name -> run sizes for this family.
        data_config (str, optional): The config whose data root is the family's dataset folder by default
            (see :meth:`data_root`); None for a family that generates its data.
    """

    description: str
    configs: Dict[str, str]
    prepare_data: PrepareData
    modes: Dict[str, ModeSettings]
    data_config: Optional[str] = None

    def data_root(self, given: Optional[str] = None) -> Optional[str]:
        """The dataset folder to prepare: ``given`` (``--data-root``), else the one :attr:`data_config` trains
        on; None for generated data (``given`` is then refused by :attr:`prepare_data`)."""
        if given is not None or self.data_config is None:
            return given
        return config_data_root(self.data_config)


def mobilenet_family(
    dataset: str, what: str, prepare_data: PrepareData, modes: Dict[str, ModeSettings], data_config: str
) -> Family:
    """The family of Faster R-CNN MobileNetV2-FPN on a real dataset (``what``, for the caption): the baseline's
    config ``configs/<dataset>/faster-rcnn_mobilenetv2_fpn_1x_<dataset>.py``, each other benchmark method's
    ``configs/<dataset>/faster-rcnn_mobilenetv2_fpn_<method>-1x_<dataset>.py``."""
    configs = {}
    for method in BENCHMARK_METHODS:
        schedule = '1x' if method == REFERENCE else f'{method}-1x'
        configs[method] = f'configs/{dataset}/faster-rcnn_mobilenetv2_fpn_{schedule}_{dataset}.py'
    return Family(
        description=f'Faster R-CNN MobileNetV2-FPN (ImageNet-pretrained) on {what}',
        configs=configs,
        prepare_data=prepare_data,
        modes=modes,
        data_config=data_config,
    )


FAMILIES: Dict[str, Family] = {
    'shapes': Family(
        description='Faster R-CNN R18-FPN (from scratch) on synthetic shapes',
        configs={method: f'configs/{config}' for method, config in METHOD_CONFIGS.items()},  # from the repo root
        prepare_data=prepare_shapes,
        modes=SHAPES_MODES,
    ),
    'bccd': mobilenet_family('bccd', 'BCCD blood cells', prepare_bccd, BCCD_MODES, BCCD_BASE_CONFIG),
    'aquarium': mobilenet_family('aquarium', 'Aquarium photos', prepare_aquarium, AQUARIUM_MODES, AQUARIUM_BASE_CONFIG),
}
