"""Views split by audience: ``merchant`` (the public wizard), ``agent`` (the console)."""
