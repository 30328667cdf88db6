"""The locust side of ``load/``: imported only inside the locust child process (locust patches the stdlib)."""
