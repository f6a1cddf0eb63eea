"""The admin page listing judges, and the judge modules' place in the layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workbench.services.judges import add_judge


def _add(app, name, **over):
    with app.extensions["workbench"].sessionmaker() as session:
        add_judge(session, name, "http://127.0.0.1:9/v1", over.pop("model", "gpt-4o-mini"), **over)
        session.commit()


def test_admin_sees_every_judge(app, client, auth):
    _add(app, "gpt-mini", api_key_env="OPENAI_API_KEY", concurrency=12)
    _add(app, "local-llama", model="llama-3-8b")
    auth.login_as("admin")
    page = client.get("/judges/")
    assert page.status_code == 200 and "<html" in page.text
    assert "HX-Request" in page.headers["Vary"]
    for text in ("gpt-mini", "gpt-4o-mini", "$OPENAI_API_KEY", "local-llama", "llama-3-8b", "http://127.0.0.1:9/v1"):
        assert text in page.text
    partial = client.get("/judges/", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and 'id="judges"' in partial.text


def test_only_admins_see_judges(client, auth):
    assert client.get("/judges/").status_code == 302  # to the login page
    auth.login_as("researcher")
    assert client.get("/judges/").status_code == 403


def test_judge_modules_import_no_flask():
    package = Path(__file__).resolve().parents[2] / "workbench" / "judges"
    modules = [f"workbench.judges.{p.stem}" for p in sorted(package.glob("*.py")) if p.stem != "__init__"] + [
        "workbench.services.judges"
    ]
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print(sorted(m for m in sys.modules if m == 'flask' or m.startswith('flask.')))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
