"""The example shop's WSGI application, for a real server.

From the repository's root: ``gunicorn --preload --workers 2 example_project.wsgi:application``
(the settings come from the environment, see ``example_project/settings.py``).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

application = get_wsgi_application()
