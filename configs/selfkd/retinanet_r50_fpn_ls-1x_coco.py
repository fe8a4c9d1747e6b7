# Label smoothing for RetinaNet R50-FPN on COCO: positives learn (1 - eps) * onehot + eps / 80; background
# anchors keep all-zero targets. No hook needed.
# mmdet::retinanet/retinanet_r50_fpn_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)

model = dict(bbox_head=dict(loss_cls=dict(type='LabelSmoothingFocalLoss', epsilon=0.1)))
