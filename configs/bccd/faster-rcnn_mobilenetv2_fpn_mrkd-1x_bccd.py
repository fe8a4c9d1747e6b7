# MrKD on the BCCD model: KD from the mean of 2 earlier model copies, one refreshed every epoch
# (205 train images at batch 8: 26 iterations). Teacher Correction: add tc_share (in (1/K, 1], K = 4) to distill_loss.
_base_ = './faster-rcnn_mobilenetv2_fpn_1x_bccd.py'

model = dict(
    roi_head=dict(
        type='SelfKDRoIHead',
        distill_loss=dict(type='MrKDLoss', temperature=4.0, kd_weight=1.0, num_classes=3),
    )
)
custom_hooks = [dict(type='MrKDHook', num_copies=2, interval=26)]
