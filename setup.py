"""mmdet_selfkd: self-knowledge distillation (PS-KD and friends) for MMDetection 3.x."""
from setuptools import find_packages, setup

setup(
    name='mmdet_selfkd',
    version='0.1.0',
    description='Self-knowledge distillation (PS-KD, CS-KD, LsrKD, MrKD) plugin for MMDetection 3.x',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmdet_selfkd', 'mmdet_selfkd.*']),
    python_requires='>=3.9',
    install_requires=[
        'mmdet==3.3.0',
        'mmengine==0.10.7',
        'mmcv==2.1.0',
        'pycocotools',
        'matplotlib',
        # mmengine 0.10.7 imports pkg_resources to resolve `mmdet::` bases; setuptools 82 removed it.
        'setuptools>=77,<82',
    ],
    extras_require={'tests': ['pytest', 'pytest-timeout']},
    license='Apache-2.0',
)
