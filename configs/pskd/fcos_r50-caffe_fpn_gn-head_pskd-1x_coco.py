# PS-KD for FCOS R50-caffe-FPN (GN head) on COCO: the stock config plus the head/loss swap and the hook.
# PSKDFCOSHead is FCOSHead plus the teacher plumbing (it recovers the GT each positive point is assigned to);
# PSKDFocalLoss adds the soft focal loss of the taught points (same gamma/alpha).
# mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/fcos_r50-caffe_fpn_gn-head_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)

model = dict(bbox_head=dict(type='PSKDFCOSHead', distill_loss=dict(type='PSKDFocalLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='gt'))]
