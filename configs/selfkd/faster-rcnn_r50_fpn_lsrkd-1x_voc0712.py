# LsrKD for Faster R-CNN R50-FPN on VOC07+12 (4 epochs of 3 repeats, ~3.1k iterations each at 16 images per batch).
# Teacher Correction: add tc_share (in (1/K, 1], K = 21) to loss_cls.
# mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/faster-rcnn_r50_fpn_1x_voc0712.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(
    roi_head=dict(
        bbox_head=dict(loss_cls=dict(type='LsrKDLoss', temperature=4.0, kd_weight=0.1, num_classes=20, loss_weight=1.0))
    )
)
