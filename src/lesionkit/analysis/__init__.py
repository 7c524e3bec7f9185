"""lesionkit.analysis"""

from lesionkit.analysis.overlap import overlap_maps

__all__ = ["overlap_maps"]
