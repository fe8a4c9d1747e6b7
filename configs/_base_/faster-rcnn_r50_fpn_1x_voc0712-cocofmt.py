# mmdet's pascal_voc/faster-rcnn_r50_fpn_1x_voc0712-cocofmt.py, with the data found from this file's directory
# instead of the working directory: <repo>/data/VOCdevkit/ (mmdet's own config says 'data/VOCdevkit/',
# relative to where you run), COCO-format annotations in its annotations/.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712-cocofmt.py'

data_root = '{{fileDirname}}/../../data/VOCdevkit/'
train_dataloader = dict(dataset=dict(dataset=dict(data_root=data_root)))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/voc07_test.json')
test_evaluator = val_evaluator
