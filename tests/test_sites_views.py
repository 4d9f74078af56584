"""Sites and camera groups as managed data, and saved live views per account (issue 12, the
operator's console): the services, the API with its refusals in both languages, the ledger
entries, the live page's tree, and the 0010 migration — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from custodes.adapters.db import schema
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.domain.sites import Group, SiteFieldError, camera_tree, clean_name
from custodes.domain.views import ViewFieldError, checked_view, shown_slots
from custodes.entrypoints.web.app import create_app
from custodes.services import cameras as camera_service
from custodes.services import ledger
from custodes.services import sites as svc
from custodes.services.context import Context

from .grant_setup import Person, person
from .web_client import log_in

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
ACTOR = ledger.account_actor("tester")


def _cam(ctx: Context, name: str) -> int:
    return camera_service.add_camera(
        ctx, CameraSpec(name=name, url=f"rtsp://127.0.0.1:9/{len(name)}", place="gate")
    ).id


def _entries(ctx: Context, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    L = schema.ledger
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(L.c.actor, L.c.object, L.c.details).where(L.c.action == action).order_by(L.c.seq)
        ).all()
    return [(r.actor, r.object, json.loads(r.details)) for r in rows]


def _label(ctx: Context, camera_id: int) -> str | None:
    return camera_service.find_camera(ctx, str(camera_id)).site


# --- the rules (pure) ---------------------------------------------------------------------


def test_names_are_stripped_bounded_and_free_of_control_characters() -> None:
    assert clean_name("  北门 North gate ") == "北门 North gate"
    assert clean_name("é" * 64) == "é" * 64
    for bad in ("", "   ", "x" * 65, "a\nb", "a\x00b"):
        with pytest.raises(SiteFieldError):
            clean_name(bad)


def test_the_tree_is_site_then_group_then_camera_with_no_site_last() -> None:
    sites = {1: "Zeta campus", 2: "Alpha campus"}
    groups = [Group(10, "Gates", 2), Group(11, "Roofs", 2), Group(12, "Night", None)]
    site_of = {1: 2, 2: 2, 3: 1}
    members = {10: {1}, 11: {9}, 12: {4, 1}}
    tree = camera_tree([1, 2, 3, 4, 5], sites, groups, site_of, members)
    assert [(b.name, [(g.name, g.cameras) for g in b.groups], b.cameras) for b in tree] == [
        ("Alpha campus", [("Gates", (1,))], (2,)),  # Roofs holds no camera shown: left out
        ("Zeta campus", [], (3,)),
        (None, [("Night", (4,))], (5,)),  # camera 1 is at a site: only in its branch
    ]
    assert tree[0].count == 2 and tree[2].count == 2


def test_a_view_is_checked_where_it_comes_in() -> None:
    spec = checked_view(" Lobby ", 4, [3, None])
    assert (spec.name, spec.layout, spec.slots) == ("Lobby", 4, (3, None, None, None))
    for name, layout, slots, field in (
        ("v", 5, [], "layout"),
        ("v", 4, [1, 2, 3, 4, 5], "slots"),
        ("v", 4, [0], "slots"),
        ("v", 4, [2**31], "slots"),
        ("v", 4, [99999999990000000000], "slots"),
        ("", 4, [], "name"),
        ("x" * 65, 4, [], "name"),
    ):
        with pytest.raises(ViewFieldError) as info:
            checked_view(name, layout, slots)
        assert info.value.field == field


def test_a_stored_view_always_opens_as_a_grid() -> None:
    """Whatever is stored, the grid has the layout's slots, unknown ones empty."""
    assert shown_slots(4, [1, 2, 3, 4], {1, 3}) == [1, None, 3, None]
    assert shown_slots(1, [7, 8, 9], {7, 8, 9}) == [7]
    for junk in (None, "1,2", {"a": 1}, [True, "2", 2.0, [1], None], 5):
        assert shown_slots(4, junk, {1, 2}) == [None] * 4
    assert shown_slots(7, [1], {1}) == [1, None, None, None]  # not a layout: the default


# --- the services -------------------------------------------------------------------------


def test_sites_and_groups_change_as_data_and_every_change_is_in_the_ledger(ctx: Context) -> None:
    a, b = _cam(ctx, "Gate A"), _cam(ctx, "Gate B")
    site = svc.add_site(ctx, "北校区 North", actor=ACTOR)
    group = svc.add_group(ctx, "Gates", site.id, actor=ACTOR)
    svc.place_camera(ctx, a, site.id, [group.id], actor=ACTOR)
    svc.place_camera(ctx, b, site.id, [], actor=ACTOR)
    svc.place_camera(ctx, b, site.id, [], actor=ACTOR)  # no change: no entry
    assert _label(ctx, a) == "北校区 North"  # the label an export records follows the site
    svc.rename_site(ctx, site.id, "North campus", actor=ACTOR)
    assert _label(ctx, a) == _label(ctx, b) == "North campus"
    svc.change_group(ctx, group.id, {"name": "Main gates", "site_id": None}, actor=ACTOR)
    assert [(s.name, s.cameras) for s in svc.list_sites(ctx)] == [("North campus", 2)]

    gone = svc.delete_site(ctx, site.id, actor=ACTOR)
    assert gone.cameras == (a, b)
    assert svc.placement(ctx, a) == svc.Placement(a, None, (group.id,))  # still in its group
    assert svc.placement(ctx, b) == svc.Placement(b, None, ())
    assert _label(ctx, a) is None and _label(ctx, b) is None
    assert len(camera_service.list_cameras(ctx)) == 2  # the cameras stay, recording

    svc.add_site(ctx, "Second", actor=ACTOR)
    again = svc.add_group(ctx, "Roofs", None, actor=ACTOR)
    svc.place_camera(ctx, b, None, [again.id, group.id], actor=ACTOR)
    removed = svc.delete_group(ctx, group.id, actor=ACTOR)
    assert removed.cameras == (a, b)
    assert svc.placement(ctx, b).group_ids == (again.id,)

    assert _entries(ctx, ledger.SITE_ADDED)[0] == (
        ACTOR,
        f"site:{site.id}",
        {"name": "北校区 North"},
    )
    assert _entries(ctx, ledger.SITE_RENAMED) == [
        (ACTOR, f"site:{site.id}", {"name": ["北校区 North", "North campus"], "cameras": [a, b]})
    ]
    assert _entries(ctx, ledger.GROUP_CHANGED)[0][2] == {
        "name": ["Gates", "Main gates"],
        "site_id": [site.id, None],
    }
    assert _entries(ctx, ledger.SITE_DELETED) == [
        (
            ACTOR,
            f"site:{site.id}",
            {"name": "North campus", "cameras_unassigned": [a, b], "groups_unsited": []},
        )
    ]
    assert _entries(ctx, ledger.GROUP_DELETED)[0][2] == {
        "name": "Main gates",
        "cameras_removed": [a, b],
    }
    placed = _entries(ctx, ledger.CAMERA_PLACED)
    assert len(placed) == 3
    assert placed[0] == (
        ACTOR,
        f"camera:{a}",
        {"site_id": [None, site.id], "group_ids": [[], [group.id]]},
    )
    assert len(_entries(ctx, ledger.GROUP_ADDED)) == 2


def test_duplicates_and_missing_sites_are_refused(ctx: Context) -> None:
    cam = _cam(ctx, "Gate")
    site = svc.add_site(ctx, "East")
    svc.add_group(ctx, "Doors")
    with pytest.raises(SiteFieldError, match="already exists"):
        svc.add_site(ctx, " East ")
    with pytest.raises(SiteFieldError, match="already exists"):
        svc.add_group(ctx, "Doors", site.id)
    other = svc.add_site(ctx, "West")
    with pytest.raises(SiteFieldError, match="already exists"):
        svc.rename_site(ctx, other.id, "East")
    svc.delete_site(ctx, site.id)
    with pytest.raises(SiteFieldError, match="no site"):
        svc.place_camera(ctx, cam, site.id, [])
    with pytest.raises(SiteFieldError, match="no site"):
        svc.add_group(ctx, "Windows", site.id)
    with pytest.raises(svc.SiteNotFound):
        svc.delete_site(ctx, site.id)
    with pytest.raises(SiteFieldError, match="no group"):
        svc.place_camera(ctx, cam, None, [2**40])
    camera_service.retire_camera(ctx, str(cam))
    with pytest.raises(SiteFieldError, match="retired"):
        svc.place_camera(ctx, cam, other.id, [])
    assert _entries(ctx, ledger.CAMERA_PLACED) == []


# --- the API and the pages ----------------------------------------------------------------


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def _as(client: TestClient, who: Person) -> TestClient:
    log_in(client, who).headers["Accept-Language"] = "en"  # ZH where a test reads Chinese
    return client


def _msg(res: Any) -> str:
    return "; ".join(d["msg"] for d in res.json()["detail"])


def test_the_api_manages_sites_and_refuses_bad_input_in_the_users_language(
    ctx: Context, client: TestClient
) -> None:
    c = _as(client, person(ctx, Role.SYSTEM_ADMIN))
    cam = _cam(ctx, "Gate")
    made = c.post("/api/v1/sites", json={"name": "校园 Campus"})
    assert made.status_code == 201, made.text
    site = made.json()["id"]
    group = c.post("/api/v1/groups", json={"name": "Gates", "site_id": site}).json()["id"]
    placed = c.put(f"/api/v1/cameras/{cam}/placement", json={"site_id": site, "group_ids": [group]})
    assert placed.json() == {"camera_id": cam, "site_id": site, "group_ids": [group]}
    assert c.get(f"/api/v1/cameras/{cam}/placement").json()["site_id"] == site

    dup = c.post("/api/v1/sites", json={"name": "校园 Campus"})
    assert dup.status_code == 422 and "already exists" in _msg(dup)
    dup_zh = c.post("/api/v1/sites", json={"name": "校园 Campus"}, headers=ZH)
    assert "已有名为" in _msg(dup_zh) and "already" not in _msg(dup_zh), _msg(dup_zh)
    for name in ("", "  ", "x" * 65, "x" * 100_000, "a\u0007b"):
        res = c.post("/api/v1/sites", json={"name": name}, headers=ZH)
        assert res.status_code == 422, (name[:10], res.text)
        assert not re.search(r"[a-z]{4}", _msg(res)), _msg(res)  # Chinese, not English
    assert c.post("/api/v1/groups", json={"name": "G", "site_id": 10**30}).status_code == 422
    huge = c.put(f"/api/v1/cameras/{cam}/placement", json={"site_id": 9999_12_31, "group_ids": []})
    assert huge.status_code == 422 and "no site" in _msg(huge)
    assert c.patch("/api/v1/sites/99999999999", json={"name": "x"}).status_code == 422
    assert c.patch("/api/v1/sites/2147483647", json={"name": "x"}).status_code == 404
    assert c.delete("/api/v1/groups/2147483647").status_code == 404
    assert c.put("/api/v1/cameras/2147483647/placement", json={}).status_code == 404

    gone = c.delete(f"/api/v1/sites/{site}")
    assert gone.json()["cameras"] == [cam]
    assert c.delete(f"/api/v1/sites/{site}").status_code == 404  # a deleted site
    assert c.patch(f"/api/v1/sites/{site}", json={"name": "again"}).status_code == 404
    stale = c.put(f"/api/v1/cameras/{cam}/placement", json={"site_id": site})
    assert stale.status_code == 422
    listed = c.get("/api/v1/sites").json()
    assert listed["sites"] == [] and listed["groups"][0]["site_id"] is None
    actors = {a for a, _, _ in _entries(ctx, ledger.SITE_DELETED)}
    assert actors == {ledger.account_actor(c.get("/api/v1/auth/me").json()["username"])}


def test_roles_that_do_not_configure_cameras_may_not_manage_sites(
    ctx: Context, client: TestClient
) -> None:
    cam = _cam(ctx, "Gate")
    site = svc.add_site(ctx, "East")
    for role in (Role.SECURITY_MANAGER, Role.DUTY_OPERATOR, Role.AUDITOR):
        c = _as(client, person(ctx, role))
        assert c.get("/api/v1/sites").status_code == 200
        assert c.post("/api/v1/sites", json={"name": f"x{role}"}).status_code == 403
        assert c.patch(f"/api/v1/sites/{site.id}", json={"name": "y"}).status_code == 403
        assert c.delete(f"/api/v1/sites/{site.id}").status_code == 403
        assert c.post("/api/v1/groups", json={"name": "g"}).status_code == 403
        put = c.put(f"/api/v1/cameras/{cam}/placement", json={"site_id": site.id})
        assert put.status_code == 403
        assert c.get("/sites").status_code == 403
    assert _entries(ctx, ledger.CAMERA_PLACED) == [] and len(svc.list_sites(ctx)) == 1


def test_the_live_tree_shows_site_group_camera_escaped(ctx: Context, client: TestClient) -> None:
    c = _as(client, person(ctx, Role.SYSTEM_ADMIN))
    a, b, loose = _cam(ctx, "Cam A"), _cam(ctx, "摄像机 B"), _cam(ctx, "Loose")
    site = svc.add_site(ctx, "<script>alert(1)</script>")
    group = svc.add_group(ctx, "门 & Gates", site.id)
    svc.place_camera(ctx, a, site.id, [group.id])
    svc.place_camera(ctx, b, site.id, [])
    page = c.get("/live").text
    tree = page[page.index('id="camera-tree"') : page.index('id="live-grid"')]
    assert "<script>alert" not in tree and "&lt;script&gt;alert(1)&lt;/script&gt;" in tree
    order = [tree.index(s) for s in ("&lt;script&gt;", "门 &amp; Gates", "Cam A")]
    assert order == sorted(order)
    assert tree.index("摄像机 B") > tree.index("Cam A")
    assert tree.index("No site") < tree.index("Loose") and tree.index("No site") > order[-1]
    assert c.get("/sites").status_code == 200
    form = c.get(f"/cameras/{a}/edit").text
    assert f'<option value="{site.id}" selected>' in form
    assert f'value="{group.id}" checked' in form
    assert loose


def test_saved_views_are_each_persons_own(ctx: Context, client: TestClient) -> None:
    cams = [_cam(ctx, f"Cam {i}") for i in range(3)]
    me, other = person(ctx, Role.SECURITY_MANAGER), person(ctx, Role.SECURITY_MANAGER)
    c = _as(client, other)
    theirs = c.post("/api/v1/views", json={"name": "Night", "layout": 1, "slots": [cams[0]]})
    assert theirs.status_code == 201, theirs.text
    c = _as(client, me)
    view = {"name": "Night", "layout": 4, "slots": [cams[2], None, cams[0]]}
    mine = c.post("/api/v1/views", json=view)
    assert mine.status_code == 201, mine.text  # the same name as another person's: theirs
    vid = mine.json()["id"]
    assert c.get("/api/v1/views").json() == [{"id": vid, "name": "Night", "layout": 4}]
    opened = c.get(f"/api/v1/views/{vid}").json()
    assert opened["slots"] == [cams[2], None, cams[0], None]
    page = c.get(f"/live?view={vid}").text
    assert re.findall(r'data-camera="(\d+)" data-stream', page.split('id="live-grid"')[1]) == [
        str(cams[2]),
        str(cams[0]),
    ]
    other_id = theirs.json()["id"]
    assert c.get(f"/api/v1/views/{other_id}").status_code == 404
    assert c.delete(f"/api/v1/views/{other_id}").status_code == 404
    assert c.get(f"/live?view={other_id}").status_code == 404
    assert c.get("/live?view=99999999999999999999").status_code in (404, 422)
    assert c.get("/live?view=2147483647").status_code == 404

    camera_service.retire_camera(ctx, str(cams[2]))
    assert c.get(f"/api/v1/views/{vid}").json()["slots"] == [None, None, cams[0], None]
    page = c.get(f"/live?view={vid}")
    assert page.status_code == 200 and page.text.count("tile vacant") == 3

    dup = c.post("/api/v1/views", json=view, headers=ZH)
    assert dup.status_code == 422 and "已有名为 'Night' 的视图" in _msg(dup), _msg(dup)
    for bad in (
        {**view, "layout": 5},
        {**view, "layout": 10**20},
        {**view, "slots": list(range(1, 6))},
        {**view, "slots": [1] * 26},
        {**view, "slots": [99999999999]},
        {**view, "slots": ["x"]},
        {**view, "name": "x" * 65},
        {**view, "name": ""},
        {**view, "name": "y" * 100_000},
    ):
        res = c.post("/api/v1/views", json=bad)
        assert res.status_code == 422, (str(bad)[:80], res.text)
    assert c.delete(f"/api/v1/views/{vid}").status_code == 204
    assert c.get(f"/api/v1/views/{vid}").status_code == 404
    assert c.get("/api/v1/views").json() == []
    c = _as(client, other)
    assert [v["id"] for v in c.get("/api/v1/views").json()] == [other_id]


def test_a_duty_operator_opens_a_view_with_only_the_cameras_assigned(
    ctx: Context, client: TestClient
) -> None:
    a, b = _cam(ctx, "Cam A"), _cam(ctx, "Cam B")
    operator = person(ctx, Role.DUTY_OPERATOR)
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(schema.camera_assignments).values(account_id=operator.account_id, camera_id=a)
        )
    c = _as(client, operator)
    vid = c.post("/api/v1/views", json={"name": "v", "layout": 4, "slots": [b, a]}).json()["id"]
    assert c.get(f"/api/v1/views/{vid}").json()["slots"] == [None, a, None, None]
    assert c.get(f"/live?view={vid}").status_code == 200
    officer = person(ctx, Role.EXTERNAL_OFFICER)
    c = _as(client, officer)
    assert c.post("/api/v1/views", json={"name": "v", "layout": 1, "slots": []}).status_code == 403


def test_0010_makes_sites_of_the_labels_cameras_had(database_url: str) -> None:
    """An installation of 0008 whose cameras name their sites in free text: after 0010 each
    label is a site and its cameras are placed there, the labels kept."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from custodes.adapters.db.engine import make_engine
    from custodes.adapters.db.migrate import MIGRATIONS, upgrade

    engine = make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
    with engine.begin() as conn:
        for i, site in enumerate(["东区 East", "East ", None, "东区 East", ""]):
            conn.execute(
                text(
                    "INSERT INTO cameras (name, url, place, site, signage_posted, key_target, "
                    "created_us, updated_us) VALUES (:n, 'rtsp://h/x', 'p', :s, false, false, 1, 1)"
                ),
                {"n": f"cam{i}", "s": site},
            )
    upgrade(engine)
    with engine.connect() as conn:
        sites = dict(conn.execute(select(schema.sites.c.name, schema.sites.c.id)).all())
        assert set(sites) == {"东区 East", "East"}
        placed = conn.execute(
            select(schema.cameras.c.name, schema.camera_sites.c.site_id)
            .join(schema.camera_sites)
            .order_by(schema.cameras.c.name)
        ).all()
        assert placed == [
            ("cam0", sites["东区 East"]),
            ("cam1", sites["East"]),
            ("cam3", sites["东区 East"]),
        ]
        assert conn.execute(
            select(schema.cameras.c.site).order_by(schema.cameras.c.id)
        ).scalars().all() == [
            "东区 East",
            "East ",
            None,
            "东区 East",
            "",
        ]
    engine.dispose()


def test_a_view_stored_in_any_shape_opens_as_a_grid(ctx: Context, client: TestClient) -> None:
    """Rows no API call makes (another version's, a hand edit): the page and the API open
    them with the slots they can read, never an error."""
    cam = _cam(ctx, "Cam A")
    me = person(ctx, Role.SECURITY_MANAGER)
    stored = ["not json", "null", '{"a": 1}', f'[{cam}, "x", true, 1e400, -1]', f"[{cam}]"]
    with ctx.engine.begin() as conn:
        for i, slots in enumerate(stored):
            conn.execute(
                insert(schema.saved_views).values(
                    account_id=me.account_id,
                    name=f"v{i}",
                    layout=[4, 9, 77, 1, -3][i],
                    slots=slots,
                    created_us=1,
                )
            )
    c = _as(client, me)
    opened = [c.get(f"/api/v1/views/{v['id']}").json() for v in c.get("/api/v1/views").json()]
    assert [(v["layout"], v["slots"]) for v in opened] == [
        (4, [None] * 4),
        (9, [None] * 9),
        (4, [None] * 4),
        (1, [cam]),
        (4, [cam, None, None, None]),
    ]
    for v in opened:
        assert c.get(f"/live?view={v['id']}").status_code == 200
