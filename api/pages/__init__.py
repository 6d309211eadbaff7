"""The server-rendered web pages, one module per audience (see :mod:`api.web` for the frame)."""
