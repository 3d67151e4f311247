import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Each worker builds the knowledge and the description dictionaries as it starts, not
# while the first merchant waits.
from wizard.knowledge import warm  # noqa: E402

warm()
