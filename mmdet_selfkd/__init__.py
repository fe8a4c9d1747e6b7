"""mmdet_selfkd: self-knowledge distillation for MMDetection 3.x detectors.

Importing it (``custom_imports=dict(imports=['mmdet_selfkd'])``) registers its losses, RoI heads, hooks
and metrics into mmdet's registries and lets torch>=2.6 load mmengine checkpoints (see ``compat``; for every
local checkpoint mmengine loads in the process, unless ``MMDET_SELFKD_COMPAT=0`` is set).
"""

from . import calibration, compat, datasets, engine, evaluation, models, teachers  # noqa: F401

__version__ = '0.1.0'

if compat.compat_enabled():
    compat.allow_mmengine_checkpoints()
