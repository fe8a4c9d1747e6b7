# PS-KD for RetinaNet R50-FPN on COCO: the stock config plus the head/loss swap and the hook.
# PSKDRetinaHead is RetinaHead plus the teacher plumbing (it must see which GT each positive anchor is
# assigned to); PSKDFocalLoss adds the soft focal loss of the taught anchors (same gamma/alpha). Memory: one row
# of 5 + 2 * 80 fp16 values (box, label, 80 scores and their classes) per GT, ~0.28 GB at COCO train2017
# scale (computed for 860k GTs, not measured).
# mmdet::retinanet/retinanet_r50_fpn_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)

model = dict(bbox_head=dict(type='PSKDRetinaHead', distill_loss=dict(type='PSKDFocalLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='gt'))]
