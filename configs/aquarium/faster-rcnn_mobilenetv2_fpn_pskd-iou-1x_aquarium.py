# PS-KD on the Aquarium model with the `iou` memory strategy (see README: "Which past prediction teaches").
_base_ = './faster-rcnn_mobilenetv2_fpn_pskd-1x_aquarium.py'

custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='iou', iou_thr=0.7, fallback='gt'))]
