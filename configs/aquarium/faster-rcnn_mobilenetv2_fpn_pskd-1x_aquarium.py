# PS-KD on the Aquarium model: the RoI head, its classification loss and the hook change, as in the shapes configs.
_base_ = './faster-rcnn_mobilenetv2_fpn_1x_aquarium.py'

model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='PSKDLoss')))
custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='gt'))]
