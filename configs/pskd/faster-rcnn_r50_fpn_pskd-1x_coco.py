# PS-KD for Faster R-CNN R50-FPN on COCO (12 passes). The `iou` strategy stores 30 bytes (fp16, top-5) per
# positive proposal (see README for the measured memory at COCO scale).
# mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='PSKDLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='iou', iou_thr=0.7, fallback='gt'))]
