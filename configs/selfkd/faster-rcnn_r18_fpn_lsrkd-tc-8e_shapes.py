# LsrKD with Teacher Correction: the teacher at temperature T puts tc_share on the true class and
# (1 - tc_share) / (K - 1) on each other one (tc_share in (1/K, 1], K = 4): here [0.6, 0.133, 0.133, 0.133].
_base_ = './faster-rcnn_r18_fpn_lsrkd-8e_shapes.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(tc_share=0.6))))
