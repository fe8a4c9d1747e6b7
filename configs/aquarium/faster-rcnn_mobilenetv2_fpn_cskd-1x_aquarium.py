# CS-KD on the Aquarium model: positive proposals distil from same-class positives of other images.
_base_ = './faster-rcnn_mobilenetv2_fpn_1x_aquarium.py'

model = dict(roi_head=dict(type='SelfKDRoIHead', distill_loss=dict(type='CSKDLoss', temperature=4.0, kd_weight=1.0)))
# In-batch pairs (the reference's PairBatchSampler): each batch holds batch_size / 2 drawn images and, for each,
# an image sharing one of its GT classes; an epoch draws every image once, so it has twice the iterations of the
# baseline's at the same batch_size. The class memory of earlier batches stays as the fallback for positives
# without an in-batch partner (CSKDHook(use_memory=False) turns it off).
train_dataloader = dict(batch_sampler=dict(type='ClassPairBatchSampler'))
custom_hooks = [dict(type='CSKDHook')]
