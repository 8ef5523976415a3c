"""Tests of the GitHub Actions workflows: triggers, permissions, pinned actions and the GPU job's commands.

The workflows are parsed as YAML and checked as data. Nothing here runs GitHub Actions. Every
``cvnotes`` command in a workflow is parsed with the command line's own argument parser, so a
renamed or removed option fails here instead of on the GPU runner.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from cvnotes import cli

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"
SITE = WORKFLOWS / "site.yml"
# `uses: owner/name@<40 hex digits> # v1.2.3`, the form that pins a release by its commit.
PINNED_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@(?P<sha>[0-9a-f]{40})\s+#\s+v\d+\.\d+\.\d+\s*$"
)
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s+(?P<target>\S+)")


def load_workflow(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


@pytest.fixture(scope="module")
def site() -> dict:
    return load_workflow(SITE)


def steps_of(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def run_scripts(workflow: dict, job: str) -> list[str]:
    return [step["run"] for step in steps_of(workflow, job) if "run" in step]


def cvnotes_commands(script: str) -> list[list[str]]:
    """Return the argument lists of the `cvnotes ...` commands in a shell script."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        # Skip leading VAR=value assignments.
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words.pop(0)
        if words and words[0] == "cvnotes":
            commands.append(words[1:])
    return commands


def step_running(workflow: dict, job: str, pattern: str) -> dict:
    """Return the one step of ``job`` whose run script matches ``pattern``."""
    matches = [step for step in steps_of(workflow, job) if re.search(pattern, step.get("run", ""))]
    assert len(matches) == 1, f"expected one step in {job} running {pattern!r}, found {len(matches)}"
    return matches[0]


# --- triggers and permissions -------------------------------------------------------------------


def test_site_triggers_push_main_and_dispatch(site):
    assert set(site["on"]) == {"push", "workflow_dispatch"}
    assert site["on"]["push"] == {"branches": ["main"]}


def test_site_never_runs_for_pull_requests():
    text = SITE.read_text(encoding="utf-8")
    assert "pull_request" not in text
    assert "workflow_run" not in text


def test_site_top_level_permissions_empty(site):
    assert site["permissions"] == {}


def test_site_build_job_reads_only(site):
    assert site["jobs"]["build"]["permissions"] == {"contents": "read"}


def test_site_deploy_job_permissions(site):
    deploy = site["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["needs"] == "build"
    assert deploy["if"] == "github.ref == 'refs/heads/main'"


def test_site_only_deploy_can_write(site):
    for name, job in site["jobs"].items():
        permissions = job.get("permissions", {})
        writes = sorted(scope for scope, level in permissions.items() if level == "write")
        if name == "deploy":
            assert writes == ["id-token", "pages"]
        else:
            assert writes == [], f"job {name} asks for write access"


def test_site_pages_concurrency(site):
    assert site["concurrency"] == {"group": "pages", "cancel-in-progress": False}


def test_site_jobs_have_timeouts(site):
    for name, job in site["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"job {name} has no timeout"


def test_ci_permissions_read_only():
    ci = load_workflow(WORKFLOWS / "ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    for name, job in ci["jobs"].items():
        assert "permissions" not in job, f"ci job {name} changes its permissions"


# --- pinned actions -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda path: path.name)
def test_actions_pinned_by_commit(path):
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if USES_LINE.match(line)]
    assert lines, f"{path.name} uses no action"
    for line in lines:
        target = USES_LINE.match(line).group("target")
        if target.startswith("./"):
            continue  # a local action is part of the checked-out commit
        assert PINNED_USES.match(line), (
            f"{path.name}: not pinned to a commit with a version comment: {line.strip()}"
        )


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda path: path.name)
def test_pinned_lines_match_parsed_steps(path):
    # Guard against a `uses:` that the line pattern above misses (for example a flow mapping).
    workflow = load_workflow(path)
    parsed = [
        step["uses"] for job in workflow["jobs"].values() for step in job.get("steps", []) if "uses" in step
    ]
    listed = [
        USES_LINE.match(line).group("target")
        for line in path.read_text(encoding="utf-8").splitlines()
        if USES_LINE.match(line)
    ]
    assert parsed == listed


def test_same_action_same_commit():
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = USES_LINE.match(line)
            if match and "@" in match.group("target"):
                action, ref = match.group("target").split("@", 1)
                pins.setdefault(action, set()).add(ref)
    for action, refs in pins.items():
        assert len(refs) == 1, f"{action} is pinned to several commits: {sorted(refs)}"


# --- the GPU job ----------------------------------------------------------------------------------


def test_site_runner_label_configurable(site):
    inputs = site["on"]["workflow_dispatch"]["inputs"]
    assert inputs["runner"]["type"] == "string"
    assert inputs["runner"]["required"] is False
    assert site["jobs"]["build"]["runs-on"] == "${{ inputs.runner || vars.CVNOTES_GPU_RUNNER || 'gpu' }}"


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda path: path.name)
def test_checkout_keeps_no_credentials(path):
    workflow = load_workflow(path)
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path.name}: job {name}"


def test_site_sets_up_python_311(site):
    setup = [
        step for step in steps_of(site, "build") if step.get("uses", "").startswith("actions/setup-python@")
    ]
    assert len(setup) == 1
    assert setup[0]["with"]["python-version"] == "3.11"


def test_site_installs_requirements_and_package(site):
    script = step_running(site, "build", r"pip install -r requirements\.txt")["run"]
    assert "pip install --no-deps -e ." in script


def test_site_caches_assets_by_catalogue(site):
    caches = [step for step in steps_of(site, "build") if step.get("uses", "").startswith("actions/cache@")]
    assert len(caches) == 1
    assert caches[0]["with"]["path"] == "~/.cache/cvnotes"
    assert "hashFiles('cvnotes/assets.py')" in caches[0]["with"]["key"]


def test_site_step_order(site):
    scripts = run_scripts(site, "build")
    order = [
        next(index for index, script in enumerate(scripts) if re.search(pattern, script))
        for pattern in (r"pip install -r", r"cvnotes .*fetch", r"cvnotes .*figures", r"mkdocs build")
    ]
    assert order == sorted(order)
    uses = [step.get("uses", "") for step in steps_of(site, "build")]
    cache_index = next(index for index, target in enumerate(uses) if target.startswith("actions/cache@"))
    fetch_step = step_running(site, "build", r"cvnotes .*fetch")
    assert cache_index < steps_of(site, "build").index(fetch_step), (
        "the cache must be restored before fetching"
    )
    assert uses[-1].startswith("actions/upload-pages-artifact@"), "the site is uploaded last"
    assert steps_of(site, "build")[-1]["with"]["path"] == "site/"


def test_site_fetches_full_profile(site):
    commands = cvnotes_commands(step_running(site, "build", r"cvnotes .*fetch")["run"])
    assert len(commands) == 1
    args = cli._parser().parse_args(commands[0])
    assert args.command == "fetch"
    assert args.profile == "full"
    assert args.offline is False
    assert args.names == []


def test_site_builds_full_figures_strictly(site, monkeypatch):
    # Parse as the runner would: no CVNOTES_* variables set at that step.
    for variable in ("CVNOTES_PROFILE", "CVNOTES_DEVICE", "CVNOTES_FAIL_ON_MISSING", "CVNOTES_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    commands = cvnotes_commands(step_running(site, "build", r"cvnotes .*figures")["run"])
    assert len(commands) == 1
    args = cli._parser().parse_args(commands[0])
    assert args.command == "figures"
    assert args.profile == "full"
    assert args.fail_on_missing is True
    assert args.device == "auto"
    assert args.offline is False
    assert args.names == [], "every figure is built"


def test_site_strict_build_reuses_figures(site):
    figures = cli._parser().parse_args(
        cvnotes_commands(step_running(site, "build", r"cvnotes .*figures")["run"])[0]
    )
    build = step_running(site, "build", r"mkdocs build")
    assert build["run"].split() == ["mkdocs", "build", "--strict"]
    # The plugin rebuilds nothing only when profile and device match the figures step.
    assert build["env"]["CVNOTES_PROFILE"] == figures.profile
    assert build["env"]["CVNOTES_DEVICE"] == figures.device
    assert build["env"]["CVNOTES_FAIL_ON_MISSING"] == "1"


def test_every_cvnotes_command_parses():
    parser = cli._parser()
    found = 0
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = load_workflow(path)
        for job in workflow["jobs"]:
            for script in run_scripts(workflow, job):
                for arguments in cvnotes_commands(script):
                    found += 1
                    try:
                        parser.parse_args(arguments)
                    except SystemExit as exc:
                        pytest.fail(f"{path.name}: `cvnotes {shlex.join(arguments)}` does not parse ({exc})")
    assert found >= 2


def test_cvnotes_commands_helper():
    script = "set -e\nCVNOTES_CACHE=/tmp/x cvnotes fetch \\\n  --profile full  # comment\necho cvnotes\n"
    assert cvnotes_commands(script) == [["fetch", "--profile", "full"]]


def test_bad_option_fails_to_parse():
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["figures", "--profile", "full", "--fail-on-missng"])
