"""What the templates receive: a TemplateContext, built from the plan and the rewritten code.

Its fields are the template variables; `nbextract templates export` lists their names, types and meanings (VARIABLES),
so the documentation cannot drift. Decisions are made here, and the templates print them: data.py holds the
TemplateContext and what derives from its fields, build.py builds it (and adds what --execute recorded), settings.py
decides config.toml's entries, requirements.py the package's requirements, specs.py what the recorded specs say
(model card, example tensors) and stages.py how pipeline.py calls each stage.
"""

from .build import build, with_run
from .data import VARIABLES, TemplateContext, of
from .settings import DEFAULT_BATCH_SIZE, Setting

__all__ = ["DEFAULT_BATCH_SIZE", "VARIABLES", "Setting", "TemplateContext", "build", "of", "with_run"]
