"""What the factory builds once from the settings: the calibration thresholds and role groups."""

from __future__ import annotations

import pytest

from workbench.app import create_app
from workbench.domain import AUTHORS, EVERYONE, RATERS, RESEARCHERS, STAFF, Role
from workbench.errors import InvalidInput
from workbench.stats.calibration import Thresholds


def _config(tmp_path, **over):
    return {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db", **over}


def test_thresholds_are_parsed_once_at_start_up(tmp_path):
    app = create_app(_config(tmp_path, CALIBRATION_THRESHOLDS='{"too_fast_seconds": 7}'))
    thresholds = app.extensions["workbench"].thresholds
    assert thresholds == Thresholds(too_fast_seconds=7)
    assert thresholds != Thresholds()
    app.extensions["workbench"].engine.dispose()


def test_default_thresholds_when_the_setting_is_empty(tmp_path):
    app = create_app(_config(tmp_path))
    assert app.extensions["workbench"].thresholds == Thresholds()
    app.extensions["workbench"].engine.dispose()


@pytest.mark.parametrize("text", ['{"nope": 1}', "{oops", '{"too_fast_seconds": "fast"}', "[1]"])
def test_bad_thresholds_stop_the_app_from_starting(tmp_path, text):
    with pytest.raises(InvalidInput, match="CALIBRATION_THRESHOLDS"):
        create_app(_config(tmp_path, CALIBRATION_THRESHOLDS=text))


def test_role_groups():
    assert set(EVERYONE) == set(Role)
    assert Role.ADMIN in RATERS and Role.ADMIN in AUTHORS and Role.ADMIN in RESEARCHERS and Role.ADMIN in STAFF
    assert Role.RATER not in STAFF and Role.RATER not in AUTHORS and Role.RATER not in RESEARCHERS
    assert Role.AUTHOR not in RATERS and Role.AUTHOR not in RESEARCHERS
    assert set(AUTHORS) | set(RESEARCHERS) == set(STAFF)
