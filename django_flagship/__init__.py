"""Flagship (AB Tasty) feature flags and A/B tests for Django."""

__version__ = "0.1.0.dev0"
