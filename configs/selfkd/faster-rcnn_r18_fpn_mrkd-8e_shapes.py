# MrKD on the main-job model: KD from the mean of 2 earlier model copies, one refreshed every epoch (50 iters).
_base_ = '../shapes/faster-rcnn_r18_fpn_8e_shapes.py'

model = dict(
    roi_head=dict(
        type='SelfKDRoIHead',
        distill_loss=dict(type='MrKDLoss', temperature=4.0, kd_weight=1.0, num_classes=3),
    )
)
custom_hooks = [dict(type='MrKDHook', num_copies=2, interval=50)]
