# PS-KD on the main-job model: the three lines that switch it on in any two-stage mmdet config.
_base_ = '../shapes/faster-rcnn_r18_fpn_8e_shapes.py'

model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='PSKDLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='gt'))]
