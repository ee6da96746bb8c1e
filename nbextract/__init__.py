"""nbextract: research notebooks into production packages."""
__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict]:
    """Where jupyter_server finds the handler of JupyterLab's "Convert to package" (enabled on pip install)."""
    return [{"module": "nbextract.jupyter"}]


def _jupyter_labextension_paths() -> list[dict]:
    """The prebuilt JupyterLab extension (`jupyter labextension develop` links it; the wheel ships it in share/)."""
    return [{"src": "labextension", "dest": "nbextract"}]
