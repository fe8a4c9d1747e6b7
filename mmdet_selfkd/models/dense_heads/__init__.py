from .pskd_retina_head import PSKDAnchorHeadMixin, PSKDRetinaHead

__all__ = ['PSKDAnchorHeadMixin', 'PSKDRetinaHead']
