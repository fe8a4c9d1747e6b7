"""mmdet_selfkd: self-knowledge distillation for MMDetection 3.x detectors.

Importing it (``custom_imports=dict(imports=['mmdet_selfkd'])``) registers its losses, RoI heads, hooks
and metrics into mmdet's registries and lets torch>=2.6 load mmengine checkpoints (see ``compat``).
"""
from . import compat, engine, evaluation, models  # noqa: F401

__version__ = '0.1.0'

compat.allow_mmengine_checkpoints()
