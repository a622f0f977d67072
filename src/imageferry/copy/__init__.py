"""The copy engine: copies images between registries through the engine interfaces.

It sees only :mod:`imageferry.interfaces` (``ImageSource``, ``ImageDestination``),
never HTTP. Entry point: :class:`CopyEngine`.
"""

from imageferry.copy.capabilities import BlobBatchCheck
from imageferry.copy.engine import CopyEngine, RepositoryFactory, destination_conflicts
from imageferry.copy.events import NullSink, ProgressSink
from imageferry.copy.image import ImageCopy, PlannedImage, RunLimits, describe_error
from imageferry.copy.ledger import BlobAction, BlobLedger, BlobOutcome
from imageferry.copy.options import CopyOptions, MultiArch, host_platform
from imageferry.copy.pipeline import RETRYABLE, BlobStreamer
from imageferry.copy.plan import (
    CopyPlan,
    ImagePlan,
    PlatformNotFound,
    Selection,
    build_plan,
    select,
)
from imageferry.copy.result import ImageResult, Status, summarize

__all__ = [
    "RETRYABLE",
    "BlobAction",
    "BlobBatchCheck",
    "BlobLedger",
    "BlobOutcome",
    "BlobStreamer",
    "CopyEngine",
    "CopyOptions",
    "CopyPlan",
    "ImageCopy",
    "ImagePlan",
    "ImageResult",
    "MultiArch",
    "NullSink",
    "PlannedImage",
    "PlatformNotFound",
    "ProgressSink",
    "RepositoryFactory",
    "RunLimits",
    "Selection",
    "Status",
    "build_plan",
    "describe_error",
    "destination_conflicts",
    "host_platform",
    "select",
    "summarize",
]
