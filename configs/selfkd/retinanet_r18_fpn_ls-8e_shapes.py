# Label smoothing on the one-stage main-job model: positives learn (1 - 0.1) * onehot + 0.1 / 3.
_base_ = '../shapes/retinanet_r18_fpn_8e_shapes.py'

model = dict(bbox_head=dict(loss_cls=dict(type='LabelSmoothingFocalLoss', epsilon=0.1)))
