"""aclarifai: the asyncio-native client for LLMs hosted on Clarifai."""

from ._version import __version__

__all__ = ["__version__"]
