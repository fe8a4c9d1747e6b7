from .pskd_dense_head import PSKDDenseHeadMixin
from .pskd_fcos_head import PSKDFCOSHead
from .pskd_retina_head import PSKDAnchorHeadMixin, PSKDRetinaHead

__all__ = ['PSKDAnchorHeadMixin', 'PSKDDenseHeadMixin', 'PSKDFCOSHead', 'PSKDRetinaHead']
