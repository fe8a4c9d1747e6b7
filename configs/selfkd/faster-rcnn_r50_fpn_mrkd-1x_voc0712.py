# MrKD for Faster R-CNN R50-FPN on VOC07+12 (4 epochs of 3 repeats, ~3.1k iterations each at 16 images per batch):
# 2 model copies (~160 MB each), one refreshed every 1000 iterations.
# Teacher Correction: add tc_share (in (1/K, 1], K = 21) to distill_loss.
# mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/faster-rcnn_r50_fpn_1x_voc0712.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(
    roi_head=dict(
        type='SelfKDRoIHead',
        distill_loss=dict(type='MrKDLoss', temperature=4.0, kd_weight=1.0, num_classes=20),
    )
)
custom_hooks = [dict(type='MrKDHook', num_copies=2, interval=1000)]
