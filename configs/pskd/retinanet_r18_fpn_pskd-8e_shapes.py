# PS-KD on the one-stage main-job model: swap the head and its focal loss, add the hook.
_base_ = '../shapes/retinanet_r18_fpn_8e_shapes.py'

model = dict(bbox_head=dict(type='PSKDRetinaHead', distill_loss=dict(type='PSKDFocalLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='gt'))]
