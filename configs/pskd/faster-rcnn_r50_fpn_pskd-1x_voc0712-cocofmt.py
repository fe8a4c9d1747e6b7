# PS-KD on VOC07+12 with COCO-format annotations, evaluated with CocoMetric (bbox mAP@[.5:.95]).
# mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712-cocofmt.py, data under <repo>/data/ from any working directory
_base_ = '../_base_/faster-rcnn_r50_fpn_1x_voc0712-cocofmt.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='PSKDLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='gt'))]
