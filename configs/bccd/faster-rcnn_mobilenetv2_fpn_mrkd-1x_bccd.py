# MrKD on the BCCD model: KD from the mean of 2 earlier model copies, one refreshed every epoch
# (205 train images at batch 8: 26 iterations). Teacher Correction: add tc_share (in (1/K, 1], K = 4) to loss_cls.
_base_ = './faster-rcnn_mobilenetv2_fpn_1x_bccd.py'

model = dict(
    roi_head=dict(
        type='SelfKDRoIHead',
        bbox_head=dict(loss_cls=dict(type='MrKDLoss', temperature=4.0, kd_weight=1.0, num_classes=3, loss_weight=1.0)),
    )
)
custom_hooks = [dict(type='MrKDHook', num_copies=2, interval=26)]
