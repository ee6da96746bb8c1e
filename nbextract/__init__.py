"""nbextract: research notebooks into production packages."""
__version__ = "0.1.0"
