# Label smoothing on the main-job model: only the RoI classifier's loss changes.
_base_ = '../shapes/faster-rcnn_r18_fpn_8e_shapes.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(type='LabelSmoothingLoss', epsilon=0.1, loss_weight=1.0))))
