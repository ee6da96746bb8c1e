"""The Jupyter server extension behind JupyterLab's "Convert to package" command.

jupyter_server finds it through `nbextract._jupyter_server_extension_points()`; the pip install enables it with
`etc/jupyter/jupyter_server_config.d/nbextract.json`. It adds one route, `POST <base_url>/nbextract/convert`.
"""

from __future__ import annotations

from jupyter_server.utils import url_path_join

from .handlers import ConvertHandler


def _load_jupyter_server_extension(server_app) -> None:
    base_url = server_app.web_app.settings["base_url"]
    route = url_path_join(base_url, "nbextract", "convert")
    server_app.web_app.add_handlers(".*$", [(route, ConvertHandler)])
    server_app.log.info("nbextract: POST %s converts notebooks inside %s", route, server_app.root_dir)
