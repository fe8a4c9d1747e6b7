# CS-KD on the main-job model: positive proposals distil from same-class positives of other images.
_base_ = '../shapes/faster-rcnn_r18_fpn_8e_shapes.py'

model = dict(roi_head=dict(type='SelfKDRoIHead',
                           bbox_head=dict(loss_cls=dict(type='CSKDLoss', temperature=4.0, kd_weight=1.0))))
custom_hooks = [dict(type='CSKDHook')]
