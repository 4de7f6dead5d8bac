"""The version of django-flagship, in the core so that the core needs nothing else.

``django_flagship.__version__`` re-exports it, and ``setup.cfg`` reads it from
here without importing anything.
"""

__all__ = ["__version__"]

__version__ = "0.1.0.dev0"
