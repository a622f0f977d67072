"""imageferry: move container images between OCI registries."""

from imageferry.errors import FerryError

__all__ = ["FerryError", "__version__"]

__version__ = "0.1.0"
