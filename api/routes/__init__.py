"""HTTP routes, one module per concern; each calls into the layers below."""
