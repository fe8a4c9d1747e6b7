# MrKD for Faster R-CNN R50-FPN on COCO (12 epochs, ~7.3k iterations each at 16 images per batch):
# 2 model copies (~160 MB each), one refreshed every 2000 iterations.
# Teacher Correction: add tc_share (in (1/K, 1], K = 81) to distill_loss.
# mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(
    roi_head=dict(
        type='SelfKDRoIHead',
        distill_loss=dict(type='MrKDLoss', temperature=4.0, kd_weight=1.0, num_classes=80),
    )
)
custom_hooks = [dict(type='MrKDHook', num_copies=2, interval=2000)]
