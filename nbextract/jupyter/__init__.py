"""The Jupyter server extension behind JupyterLab's "Convert to package" command.

jupyter_server finds it through `nbextract._jupyter_server_extension_points()`; the pip install enables it with
`etc/jupyter/jupyter_server_config.d/nbextract.json`. Its routes are described in nbextract/jupyter/handlers.py.
"""

from __future__ import annotations

from jupyter_server.utils import url_path_join

from .handlers import AnalyzeHandler, CheckHandler, ConvertHandler, JobHandler, JobsHandler

ROUTES = [
    ("convert", ConvertHandler),
    ("jobs", JobsHandler),
    (r"jobs/(\d+)", JobHandler),
    ("check", CheckHandler),
    ("analyze", AnalyzeHandler),
]


def _load_jupyter_server_extension(server_app) -> None:
    base_url = server_app.web_app.settings["base_url"]
    routes = [(url_path_join(base_url, "nbextract", path), handler) for path, handler in ROUTES]
    server_app.web_app.add_handlers(".*$", routes)
    server_app.log.info("nbextract: converts notebooks inside %s in worker processes", server_app.root_dir)
