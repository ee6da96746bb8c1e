"""Building the TemplateContext from the plan, the rewritten code and the options (build), and adding what --execute
recorded (with_run)."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from .. import __version__, dependencies, knowledge
from ..draw import mermaid
from ..findings import find_all
from ..options import Options, dependency_overrides
from ..rewrite import Code
from ..slice import Plan
from .data import TemplateContext
from .requirements import fitted_state_imports, format_modules, input_imports, input_makers, installs
from .settings import builtin_settings, lifted_settings, settings_from_plan

TRAIN_SCRIPT_IMPORTS = ("import sys", "from pathlib import Path")
"""What training/train.py imports itself (to import the package from src/): the source's same line is not repeated."""


def build(plan: Plan, code: Code, options: Options) -> TemplateContext:
    package = options.package
    prefix = f"{package.upper()}_"
    document = plan.graph.document
    settings = [
        *settings_from_plan(plan, prefix),
        *lifted_settings(code, prefix),
        *builtin_settings(plan, code, package),
    ]
    artifacts = [{**a.describe(), "origin": a.origin} for a in plan.artifacts]
    statements = [
        {
            "origin": str(plan.graph.statements[index].origin),
            "label": plan.graph.statements[index].label,
            "stage": fate.stage,
            "reason": fate.reason,
        }
        for index, fate in sorted(plan.fates.items())
    ]
    statements += [{"origin": str(s.origin), "label": s.label, "stage": "dropped", "reason": "tagged nbextract:skip"} for s in plan.graph.skipped]
    findings = [asdict(finding) for finding in find_all(plan.graph)]
    secrets = secret_entries(plan)
    magics = [asdict(decision) for decision in plan.graph.magics]
    source = {"path": document.path, "name": Path(document.path).name, "kind": document.kind, "sha256": document.sha256}
    declared = dependencies.Declared.of(installs(plan), dependency_overrides(Path(document.path).parent))
    inference_imports = [line for stage in code.stages.values() for line in stage.imports] + code.helper_imports
    made_with = dependencies.implied_modules([plan.graph.statements[index] for index in input_makers(plan)])
    runtime = dependencies.pinned([*inference_imports, *fitted_state_imports(plan), *input_imports(plan)], ("joblib", *format_modules(plan), *made_with), declared)
    trained_with = dependencies.implied_modules([plan.graph.statements[index] for index in plan.train])
    training = [req for req in dependencies.pinned(code.train_imports, trained_with, declared) if req not in runtime]
    manifest = {
        "nbextract_version": __version__,
        "package": package,
        "source": {"path": document.path, "kind": document.kind, "sha256": document.sha256},
        "inputs": [{"name": plan.input.name, "origin": plan.input.origin}],
        "outputs": [{"name": plan.output.name, "origin": plan.output.origin}],
        "artifacts": [{k: a[k] for k in ("variable", "path", "format")} for a in artifacts],
        "config": [{"key": s.key, "value": s.value, "env": s.env, "origin": s.origin} for s in settings],
        "secrets": secrets,
        "statements": [{"origin": s["origin"], "stage": s["stage"], "reason": s["reason"]} for s in statements],
        "findings": findings,
    }
    stage_map = {index: fate.stage for index, fate in plan.fates.items()}
    return TemplateContext(
        package=package,
        source=source,
        settings=settings,
        stages=code.stages,
        input=boundary(plan, plan.input),
        output=boundary(plan, plan.output),
        artifacts=artifacts,
        secrets=secrets,
        train_uses_secrets=code.train_uses_secrets,
        read_secrets=code.read_secrets,
        helpers=code.helpers,
        helper_imports=code.helper_imports,
        helper_names=code.helper_names,
        helper_globals=plan.helper_globals,
        train_main=code.train_body if plan.train else "",
        train_imports=[line for line in code.train_imports if line not in TRAIN_SCRIPT_IMPORTS],
        train_helper_names=code.train_helper_names,
        dependencies=runtime,
        training_requirements=training,
        statements=statements,
        findings=findings,
        magics=magics,
        graph_mermaid=mermaid(plan.graph, stage_map),
        manifest=manifest,
        reference={"name": plan.reference.name, "origin": plan.reference.origin} if plan.reference else None,
        seeds=seed_statements(plan),
        left_out=code.left_out,
        metrics=code.metrics,
    )


def with_run(data: TemplateContext, run) -> TemplateContext:
    """The context after --execute: the spec, output description, types and benchmark the run recorded."""
    kinds = [*run.artifact_types.values(), run.spec.get("type", ""), run.output_spec.get("type", "")]
    libraries = tuple(kind.split(".")[0] for kind in kinds if "." in kind and not kind.startswith("__main__."))
    runtime = sorted(set(data.dependencies) | set(dependencies.pinned([], libraries)), key=str.lower)
    manifest = {**data.manifest, "executed": {"python": run.python, "golden": sorted(p for p in run.files if p.startswith("tests/golden/"))}}
    return replace(
        data,
        executed=True,
        input_spec=run.spec,
        output_spec=run.output_spec,
        artifact_types=run.artifact_types,
        benchmark=run.benchmark,
        runtime_python=run.python,
        dependencies=runtime,
        training_requirements=[req for req in data.training_requirements if req not in runtime],
        manifest=manifest,
    )


def boundary(plan: Plan, bound) -> dict:
    """A boundary for the templates, with the (redacted) code of the statement that binds it."""
    statement = plan.graph.statements[bound.statement]
    code = "\n".join(line for line in statement.shown_code.strip().splitlines() if not line.lstrip().startswith("#"))
    return {"name": bound.name, "origin": bound.origin, "code": code}


def secret_entries(plan: Plan) -> list[dict]:
    """One entry per environment variable: its name, the kind of secret and where the source held it."""
    entries: dict[str, dict] = {}
    for origin, secret in plan.graph.secrets:
        entries.setdefault(secret.env, {"env": secret.env, "kind": secret.kind, "origin": str(origin)})
    for decision in plan.graph.magics:
        if decision.action == "secret":
            place = f"cell {decision.cell}, line {decision.line}"
            entries.setdefault(decision.detail, {"env": decision.detail, "kind": "secret set by %env", "origin": place})
    return list(entries.values())


def seed_statements(plan: Plan) -> list[str]:
    statements = plan.graph.statements
    return [statements[i].label for i in plan.train if any(knowledge.is_seed(call) for call in statements[i].calls)]
