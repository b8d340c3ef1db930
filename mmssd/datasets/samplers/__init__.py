"""Data samplers (registered in ``DATA_SAMPLERS`` on import)."""
from .group_sampler import DistributedGroupSampler, GroupSampler, group_flags

__all__ = ['DistributedGroupSampler', 'GroupSampler', 'group_flags']
