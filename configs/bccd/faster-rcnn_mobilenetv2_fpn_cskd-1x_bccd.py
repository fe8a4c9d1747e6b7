# CS-KD on the BCCD model: positive proposals distil from same-class positives of other images.
_base_ = './faster-rcnn_mobilenetv2_fpn_1x_bccd.py'

model = dict(roi_head=dict(type='SelfKDRoIHead',
                           bbox_head=dict(loss_cls=dict(type='CSKDLoss', temperature=4.0, kd_weight=1.0))))
custom_hooks = [dict(type='CSKDHook')]
