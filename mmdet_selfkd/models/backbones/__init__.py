from .mobilenet_v2_tv import (
    TV_MOBILENET_V2_ALIAS,
    TV_MOBILENET_V2_FILENAME,
    TVMobileNetV2,
    convert_torchvision_mobilenet_v2,
    get_tv_mobilenet_v2_path,
    load_tv_mobilenet_v2,
    load_tv_mobilenet_v2_state_dict,
)

__all__ = [
    'TV_MOBILENET_V2_ALIAS',
    'TV_MOBILENET_V2_FILENAME',
    'TVMobileNetV2',
    'convert_torchvision_mobilenet_v2',
    'get_tv_mobilenet_v2_path',
    'load_tv_mobilenet_v2',
    'load_tv_mobilenet_v2_state_dict',
]
