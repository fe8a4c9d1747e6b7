# MrKD with Teacher Correction: each copy's true-class probability is set to tc_share before softening.
_base_ = './faster-rcnn_r18_fpn_mrkd-8e_shapes.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(tc_share=0.6))))
