# PS-KD for Cascade R-CNN R50-FPN on COCO: every stage's classifier is distilled, each from its own
# memory entries (keyed by stage); each stage's loss_pskd is weighted by stage_loss_weights like its loss_cls.
# mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/cascade-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(roi_head=dict(type='SelfKDCascadeRoIHead', distill_loss=dict(type='PSKDLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='gt'))]
