# CS-KD for Faster R-CNN R50-FPN on COCO (12 epochs, ~14.7k iterations each at 16 images per batch: 8 drawn + 8
# partners; 2 images per GPU = 1 drawn + 1 partner).
# mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py, with the data under <repo>/data/ from any working directory
_base_ = '../_base_/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_selfkd'], allow_failed_imports=False)
model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='CSKDLoss', temperature=4.0, kd_weight=1.0)))
# In-batch pairs (the reference's PairBatchSampler): each batch holds batch_size / 2 drawn images and, for each,
# an image sharing one of its GT classes; an epoch draws every image once, so it has twice the iterations of the
# baseline's at the same batch_size. The class memory of earlier batches stays as the fallback for positives
# without an in-batch partner (CSKDHook(use_memory=False) turns it off).
train_dataloader = dict(batch_sampler=dict(type='ClassPairBatchSampler'))
custom_hooks = [dict(type='CSKDHook')]
