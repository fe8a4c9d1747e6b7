"""The benchmark's LaECE_0 and post-hoc numbers of a run's saved held-out detections (benchmarks/selfkd/posthoc.py)."""

import pickle

import pytest

from detection_samples import box, image
from selfkd.posthoc import posthoc_numbers


def test_posthoc_numbers_of_saved_detections(tmp_path):
    # 4 images, one object each: a hit (IoU 1) at 0.9 and a miss at 0.8
    images = [image([(box(0, 0), 0.9, 0), (box(100, 100), 0.8, 0)], [(box(0, 0), 0)]) for _ in range(4)]
    path = tmp_path / 'dets.pkl'
    path.write_bytes(pickle.dumps(images))
    out = posthoc_numbers(str(path))
    # raw LaECE_0: LRP-optimal threshold 0.9 keeps the 4 hits (IoU 1): |1 - 0.9|
    assert out['laece0'] == pytest.approx(0.1)
    # each fold is fitted on two images of the same pattern: isotonic maps 0.9 -> 1 and 0.8 -> 0 (up to 1e-6)
    assert out['posthoc']['dece'] == pytest.approx(0.0, abs=1e-5)
    assert out['posthoc']['laece0'] == pytest.approx(0.0, abs=1e-5)
