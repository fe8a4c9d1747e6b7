# PS-KD on the main-job model with the `iou` memory strategy (see README: "Which past prediction teaches").
_base_ = './faster-rcnn_r18_fpn_pskd-8e_shapes.py'

custom_hooks = [dict(type='PSKDHook', alpha_T=0.8, memory=dict(strategy='iou', iou_thr=0.7, fallback='gt'))]
