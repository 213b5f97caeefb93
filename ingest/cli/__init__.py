"""The ``zvk`` command line: thin commands over the library functions."""
