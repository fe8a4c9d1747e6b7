# Label smoothing for FCOS R50-caffe-FPN (GN head) on COCO: positives learn (1 - eps) * onehot + eps / 80;
# background points keep all-zero targets. No hook needed.
# mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/fcos_r50-caffe_fpn_gn-head_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)

model = dict(bbox_head=dict(loss_cls=dict(type='LabelSmoothingFocalLoss', epsilon=0.1)))
