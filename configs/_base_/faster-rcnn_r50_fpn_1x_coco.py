# mmdet's faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py, with the data found from this file's
# directory instead of the working directory: <repo>/data/coco/ (mmdet's own config says 'data/coco/',
# relative to where you run). To read it from elsewhere, set the dataloaders' data_root and the evaluators'
# ann_file (--cfg-options, or a config inheriting this one).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

data_root = '{{fileDirname}}/../../data/coco/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
