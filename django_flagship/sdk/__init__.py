"""The Django-free Flagship SDK: the official Python SDK's API, both decision modes."""

from .app import Flagship, Status
from .config import Config, Mode
from .handler import FlagshipEventHandler, LogLevel
from .visitor import Visitor

__all__ = ["Config", "Flagship", "FlagshipEventHandler", "LogLevel", "Mode", "Status", "Visitor"]
