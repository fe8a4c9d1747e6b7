# Label smoothing for Faster R-CNN R50-FPN on COCO (12 epochs, ~7.3k iterations each at 16 images per batch).
# mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(type='LabelSmoothingLoss', epsilon=0.1, loss_weight=1.0))))
