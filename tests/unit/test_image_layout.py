"""The container contract without Docker: lay out a function's build context as
`faas-cli build --shrinkwrap` does (the template's files, the handler folder over `function/`,
`configuration.copy` paths under `function/<path>`), check that every file the Dockerfile copies
exists, and start the function the way the image does (`python index.py` imports
`function.handler` with PYTHONPATH=function/shared) to answer its readiness check.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "python3-http-erp"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def shrinkwrap(stack_file: str, name: str, into: Path) -> Path:
    stack = yaml.safe_load((ROOT / stack_file).read_text())
    spec = stack["functions"][name]
    context = into / name
    shutil.copytree(TEMPLATE, context, ignore=IGNORE)
    shutil.rmtree(context / "function")
    shutil.copytree(ROOT / spec["handler"], context / "function", ignore=IGNORE)
    for path in stack["configuration"]["copy"]:
        shutil.copytree(ROOT / path, context / "function" / Path(path).name, ignore=IGNORE)
    return context


@pytest.mark.parametrize("stack_file, name", [("stack.yml", "user-me"), ("stack.ce.yml", "item")])
def test_the_image_layout_serves_the_function(tmp_path, stack_file, name):
    context = shrinkwrap(stack_file, name, tmp_path)
    dockerfile = (context / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?:--chown=\S+ )?(?!--from)(.+) \S+$", dockerfile, re.M):
        for part in source.split():
            assert (context / part).exists(), f"the Dockerfile copies {part}, which the build context lacks"
    (context / "function" / "__init__.py").touch()  # the Dockerfile creates it
    script = (
        "import erp_common\n"
        f"assert erp_common.__file__.startswith({str(context)!r}), erp_common.__file__\n"
        "import index\n"
        "from function import handler\n"
        "client = index.create_app(handler.handle).test_client()\n"
        "before = client.get('/_/ready')\n"  # not ready on a database the migrations have not reached
        "assert before.status_code == 503, before.get_json()\n"
        "assert before.get_json()['error']['code'] == 'schema_not_ready', before.get_json()\n"
        "from erp_common import migrate\n"
        "migrate.upgrade()\n"
        "ready = client.get('/_/ready')\n"
        "print(ready.status_code, ready.get_json())\n"
    )
    env = {
        "PYTHONPATH": str(context / "function" / "shared"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'image.sqlite3'}",
        "JWT_SECRET_KEY": "image-test-" + "k" * 40,
        "ERP_SECRETS_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run([sys.executable, "-c", script], cwd=context, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "200 {'status': 'ok', 'database': 'ok', 'cache': 'in-process'}", \
        result.stdout + result.stderr[-1000:]


def test_the_template_declares_what_faas_cli_needs():
    template = yaml.safe_load((TEMPLATE / "template.yml").read_text())
    assert template["language"] == "python3-http-erp" and template["fprocess"] == "python index.py"
    dockerfile = (TEMPLATE / "Dockerfile").read_text()
    for setting in ('mode="http"', 'upstream_url="http://127.0.0.1:5000"', "exec_timeout", "USER app"):
        assert setting in dockerfile, setting
    assert (ROOT / "template").resolve() == (ROOT / "templates").resolve()


def test_the_image_gets_mysqlclient_built_elsewhere_and_only_its_client_library():
    """mysqlclient is built into a wheel in a stage of its own, from the pin make install uses; the
    function image installs that wheel and the library it links to, never the compiler or headers."""
    dockerfile = (TEMPLATE / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)
    builder = next(stage for stage in stages if " AS mysqlclient" in stage.splitlines()[0])
    assert "build-base" in builder and "mariadb-connector-c-dev" in builder
    assert "function/shared/requirements-mysqlclient.txt" in builder
    assert "|| echo" in builder  # where it does not build, the image still builds (and uses PyMySQL)
    image = [stage for stage in stages if stage.split("\n")[0].split()[-1] in ("build", "ship")]
    assert all("build-base" not in stage and "-dev" not in stage for stage in image)
    assert "COPY --from=mysqlclient /wheels" in image[0] and "add mariadb-connector-c " in image[0]
    pins = (ROOT / "shared" / "requirements-mysqlclient.txt").read_text()
    assert re.search(r"^mysqlclient==\d+\.\d+\.\d+$", pins, re.M)
    assert "-r shared/requirements-mysqlclient.txt" in (ROOT / "Makefile").read_text()
