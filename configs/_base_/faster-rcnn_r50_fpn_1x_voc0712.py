# mmdet's pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py, with the data found from this file's directory instead
# of the working directory: <repo>/data/VOCdevkit/ (mmdet's own config says 'data/VOCdevkit/', relative to
# where you run). The train set is a list (VOC2007 + VOC2012) and a config list is replaced, not merged, so
# both entries are written out: mmdet's own, data_root changed.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'

data_root = '{{fileDirname}}/../../data/VOCdevkit/'
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            datasets=[
                dict(
                    type='VOCDataset',
                    data_root=data_root,
                    ann_file='VOC2007/ImageSets/Main/trainval.txt',
                    data_prefix=dict(sub_data_root='VOC2007/'),
                    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
                    pipeline={{_base_.train_pipeline}},
                    backend_args={{_base_.backend_args}},
                ),
                dict(
                    type='VOCDataset',
                    data_root=data_root,
                    ann_file='VOC2012/ImageSets/Main/trainval.txt',
                    data_prefix=dict(sub_data_root='VOC2012/'),
                    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
                    pipeline={{_base_.train_pipeline}},
                    backend_args={{_base_.backend_args}},
                ),
            ]
        )
    )
)
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
