# LsrKD on the BCCD model: CE + kd_weight * T^2 * KL(uniform || softmax(z/T)) on the RoI classifier.
# Teacher Correction: add tc_share (in (1/K, 1], K = 4) to loss_cls.
_base_ = './faster-rcnn_mobilenetv2_fpn_1x_bccd.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(loss_cls=dict(type='LsrKDLoss', temperature=4.0, kd_weight=0.1, num_classes=3, loss_weight=1.0))
    )
)
