"""Django-free core of django-flagship: decisions, flags, hits and their delivery."""
