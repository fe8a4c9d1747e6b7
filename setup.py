"""mmdet_selfkd: self-knowledge distillation (PS-KD and friends) for MMDetection 3.x."""

import os.path as osp
from glob import glob

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


class build_py_with_configs(build_py):  # noqa: N801 (setuptools' command naming)
    """Also put ``configs/`` into the package as ``mmdet_selfkd/.mim/configs`` (OpenMMLab's layout), so that
    a wheel / non-editable install ships them. An editable install reads ``<repo>/configs`` directly
    (``mmdet_selfkd.configs.config_dir``), so nothing is copied into the source tree."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        src = osp.join(HERE, 'configs')
        dst = osp.join(self.build_lib, 'mmdet_selfkd', '.mim', 'configs')
        for path in sorted(glob(osp.join(src, '**', '*.py'), recursive=True)):
            target = osp.join(dst, osp.relpath(path, src))
            self.mkpath(osp.dirname(target))
            self.copy_file(path, target)


setup(
    name='mmdet_selfkd',
    version='0.1.0',
    description='Self-knowledge distillation (PS-KD, CS-KD, LsrKD, MrKD) plugin for MMDetection 3.x',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmdet_selfkd', 'mmdet_selfkd.*']),
    cmdclass={'build_py': build_py_with_configs},
    python_requires='>=3.9',
    # Compatible ranges, the same as mmdet 3.x's own (mmdet/__init__.py, requirements/mminstall.txt), so that
    # installing into a working mmdet environment changes nothing in it. The tested versions (torch 2.13.0,
    # mmcv 2.1.0, mmengine 0.10.7, mmdet 3.3.0) are pinned in tools/setup_env.sh only.
    install_requires=[
        'mmdet>=3.0.0,<3.4',
        'mmengine>=0.7.1,<1.0.0',
        'mmcv>=2.0.0rc4,<2.2.0',
        'torch>=1.13',  # torch.load(weights_only=...)
        # mmdet's own runtime requirements that we import directly
        'numpy',
        'pycocotools',
        'matplotlib',
        'scipy',
        # mmengine resolves `mmdet::` config bases through pkg_resources, which setuptools 82 removed.
        'setuptools<82',
    ],
    extras_require={'tests': ['pytest', 'pytest-timeout'], 'lint': ['ruff==0.17.6']},
    license='Apache-2.0',
)
