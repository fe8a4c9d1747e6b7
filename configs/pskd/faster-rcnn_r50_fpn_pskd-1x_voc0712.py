# PS-KD for Faster R-CNN R50-FPN on VOC07+12 trainval (RepeatDataset(times=3) over a ConcatDataset of
# VOC2007 + VOC2012): 4 runner epochs = 12 passes, so alpha_t steps 0, 0.8/12, ..., 0.8*11/12. Images are
# keyed by file path, unique across the two years.
# mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/faster-rcnn_r50_fpn_1x_voc0712.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='PSKDLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='gt'))]
