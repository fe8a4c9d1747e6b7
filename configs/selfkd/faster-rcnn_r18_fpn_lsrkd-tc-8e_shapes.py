# LsrKD with Teacher Correction: the uniform teacher puts tc_share on the true class (in (1/K, 1], K = 4).
_base_ = './faster-rcnn_r18_fpn_lsrkd-8e_shapes.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(tc_share=0.6))))
