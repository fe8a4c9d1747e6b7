# MrKD with Teacher Correction: each copy's softened prediction softmax(z_k / T) gets tc_share on the true
# class (the other classes keep their proportions), then the copies are averaged.
_base_ = './faster-rcnn_r18_fpn_mrkd-8e_shapes.py'

model = dict(roi_head=dict(distill_loss=dict(tc_share=0.6)))
