# Faster R-CNN + FPN with an ImageNet-pretrained MobileNetV2 (torchvision
# weights, loaded offline by mmdet_selfkd's `TVMobileNetV2`) on BCCD.
#
# Paths: `{{fileDirname}}` is replaced by mmengine with the absolute directory
# of this file (configs/bccd), so the paths below resolve against the
# repository root whatever the current directory is (running from the repo
# root is still the convention):
#   images : <repo>/../shared/data/bccd/BCCD/ (the VOC folder; COCO
#            `file_name`s are relative to it, e.g.
#            JPEGImages/BloodImage_00000.jpg)
#   labels : <repo>/data/bccd_coco/{train,val,test}.json, produced by
#            python tools/dataset_converters/voc_to_coco.py \
#                ../shared/data/bccd/BCCD data/bccd_coco
# Override with e.g. --cfg-options train_dataloader.dataset.data_root=...
#
# Backbone outputs: mmdet MobileNetV2 out_indices index [layer1..layer7, conv2]
#   idx     : 0   1   2   3   4   5    6    7
#   channels: 16  24  32  64  96  160  320  1280
#   stride  : 2   4   8   16  16  32   32   32
# (1, 2, 4, 7) -> channels [24, 32, 96, 1280] at strides [4, 8, 16, 32], which
# is what the inherited anchor generator (strides 4..64) and RoI extractor
# (featmap_strides [4, 8, 16, 32]) assume. (2, 4, 6, 7) would give
# [32, 96, 320, 1280] at strides [8, 16, 32, 32] and silently mismatch them.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)

repo_root = '{{fileDirname}}/../..'
data_root = repo_root + '/../shared/data/bccd/BCCD/'
ann_root = repo_root + '/data/bccd_coco/'

classes = ('RBC', 'WBC', 'Platelets')
metainfo = dict(classes=classes, palette=[(220, 20, 60), (0, 0, 230), (0, 160, 0)])
img_scale = (640, 480)  # BCCD images are 640x480 (w, h)

model = dict(
    backbone=dict(
        _delete_=True,
        type='TVMobileNetV2',
        widen_factor=1.0,
        out_indices=(1, 2, 4, 7),
        frozen_stages=1,  # conv1 + layer1 frozen
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,  # keep ImageNet BN statistics (small batches)
        pretrained_tv=True,
    ),
    neck=dict(in_channels=[24, 32, 96, 1280], out_channels=256, num_outs=5),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
)

backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

dataset_type = 'CocoDataset'
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=ann_root + 'train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=ann_root + 'val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args,
    ),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=ann_root + 'test.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args,
    ),
)

val_evaluator = dict(
    type='CocoMetric', ann_file=ann_root + 'val.json', metric='bbox', format_only=False, backend_args=backend_args
)
test_evaluator = dict(
    type='CocoMetric', ann_file=ann_root + 'test.json', metric='bbox', format_only=False, backend_args=backend_args
)

# 12 epochs; 205 train images / batch 8 = 26 iterations per epoch.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
param_scheduler = [
    # the COCO 500-iteration warm-up would outlast the whole schedule
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
# linear scaling of the COCO recipe (lr 0.02 @ batch 16) to batch 8
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=8)

default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
