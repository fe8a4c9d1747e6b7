# The BCCD model (Faster R-CNN + FPN with an ImageNet-pretrained MobileNetV2,
# the same schedule) on Aquarium: Roboflow, 638 real aquarium photos, 7
# classes, CC BY 4.0; splits train/valid/test 448/127/63, images at most
# 512 px on the longer side.
#
# Paths: `{{fileDirname}}` is replaced by mmengine with the absolute directory
# of this file (configs/aquarium), so the paths below resolve against the
# repository root whatever the current directory is:
#   images : <repo>/../shared/data/aquarium/ (the YOLO folder; COCO
#            `file_name`s are relative to it, e.g. train/images/x.jpg)
#   labels : <repo>/data/aquarium_coco/{train,valid,test}.json, produced by
#            python tools/dataset_converters/yolo_to_coco.py \
#                ../shared/data/aquarium data/aquarium_coco
# Override with e.g. --cfg-options train_dataloader.dataset.data_root=...
_base_ = '../bccd/faster-rcnn_mobilenetv2_fpn_1x_bccd.py'

repo_root = '{{fileDirname}}/../..'
data_root = repo_root + '/../shared/data/aquarium/'
ann_root = repo_root + '/data/aquarium_coco/'

classes = ('fish', 'jellyfish', 'penguin', 'puffin', 'shark', 'starfish', 'stingray')  # data.yaml order
metainfo = dict(
    classes=classes,
    palette=[(220, 20, 60), (119, 11, 32), (0, 0, 142), (0, 0, 230), (106, 0, 228), (0, 60, 100), (0, 80, 100)],
)
img_scale = (512, 384)  # the images' longer side is at most 512 px (w, h)

model = dict(roi_head=dict(bbox_head=dict(num_classes=len(classes))))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# 448 train images / batch 8 = 56 iterations per epoch.
train_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file=ann_root + 'train.json', pipeline=train_pipeline)
)
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file=ann_root + 'valid.json', pipeline=test_pipeline)
)
test_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file=ann_root + 'test.json', pipeline=test_pipeline)
)
val_evaluator = dict(ann_file=ann_root + 'valid.json')
test_evaluator = dict(ann_file=ann_root + 'test.json')
