# MrKD on the Aquarium model: KD from the mean of 2 earlier model copies, one refreshed every epoch
# (448 train images at batch 8: 56 iterations). Teacher Correction: add tc_share (in (1/K, 1], K = 8) to distill_loss.
_base_ = './faster-rcnn_mobilenetv2_fpn_1x_aquarium.py'

model = dict(
    roi_head=dict(
        type='SelfKDRoIHead',
        distill_loss=dict(type='MrKDLoss', temperature=4.0, kd_weight=1.0, num_classes=7),
    )
)
custom_hooks = [dict(type='MrKDHook', num_copies=2, interval=56)]
