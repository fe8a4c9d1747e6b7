# Label smoothing on the Aquarium model: only the RoI classifier's loss changes.
_base_ = './faster-rcnn_mobilenetv2_fpn_1x_aquarium.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(type='LabelSmoothingLoss', epsilon=0.1, loss_weight=1.0))))
