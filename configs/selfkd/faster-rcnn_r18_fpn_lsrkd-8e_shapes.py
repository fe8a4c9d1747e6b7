# LsrKD on the main-job model: CE + kd_weight * T^2 * KL(uniform || softmax(z/T)) on the RoI classifier.
_base_ = '../shapes/faster-rcnn_r18_fpn_8e_shapes.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(loss_cls=dict(type='LsrKDLoss', temperature=4.0, kd_weight=0.1, num_classes=3, loss_weight=1.0))
    )
)
