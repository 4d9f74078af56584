from __future__ import annotations

from datetime import date, timedelta

import pytest

from custodes.domain.camera import CameraFieldError, CameraSpec, validate, with_credentials


def spec(**kw: object) -> CameraSpec:
    base = CameraSpec(name="Lobby 1", url="rtsp://10.0.0.5:554/main", place="bank-lobby")
    return base.with_changes(**kw)


def test_valid_spec_is_normalised() -> None:
    v = validate(spec(name="  大堂 1 ", site=" HQ "))
    assert v.name == "大堂 1"
    assert v.site == "HQ"


def test_credentials_are_taken_out_of_the_url() -> None:
    v = validate(spec(url="rtsp://admin:s3cr%40t@10.0.0.5:554/main"))
    assert v.url == "rtsp://10.0.0.5:554/main"
    assert v.username == "admin"
    assert v.password == "s3cr@t"  # percent-decoded once: with_credentials encodes it again
    assert "s3cr" not in repr(v)


def test_with_credentials_quotes() -> None:
    url = with_credentials("rtsp://h:554/x", "ad:min", "p@ss")
    assert url == "rtsp://ad%3Amin:p%40ss@h:554/x"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "-bad"}, "name"),
        ({"url": "http://h/x"}, "url"),
        ({"url": "rtsp://"}, "url"),
        ({"url": "rtsp://h:99999/x"}, "url"),
        ({"sub_url": "ftp://h/x"}, "sub_url"),
        ({"place": " "}, "place"),
        ({"latitude": 91.0, "longitude": 0.0}, "latitude"),
        ({"latitude": 30.0}, "latitude"),
        ({"latitude": 30.0, "longitude": 181.0}, "longitude"),
        ({"direction_deg": -1.0}, "direction_deg"),
        ({"installed_on": date.today() + timedelta(days=1)}, "installed_on"),
    ],
)
def test_invalid_field_is_named(changes: dict[str, object], field: str) -> None:
    with pytest.raises(CameraFieldError) as info:
        validate(spec(**changes))
    assert info.value.field == field


def test_unknown_field_is_named() -> None:
    with pytest.raises(CameraFieldError) as info:
        spec(colour="red")
    assert info.value.field == "colour"
