import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.institutions.models import Institution


def count(uow, model):
    return uow.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_list_shows_only_the_callers_subtree(nongxin_client):
    codes = {i["code"] for i in nongxin_client.as_user("jinan.admin").get("/api/institutions").get_json()}
    assert "JNRCB" in codes and "JNRCB-LX-G01" in codes
    assert not codes & {"SD", "LYRCB", "TARCB", "LYRCB-LS"}
    everything = nongxin_client.as_user("province.admin").get("/api/institutions").get_json()
    assert {"SD", "LYRCB", "TARCB"} <= {i["code"] for i in everything}


def test_other_county_bank_is_404_not_403(nongxin_client):
    linyi = nongxin_client.as_user("jinan.admin")
    assert linyi.get("/api/institutions/LYRCB").status_code == 404
    assert linyi.get("/api/institutions/NOPE").status_code == 404
    assert linyi.get("/api/institutions/JNRCB-LX").status_code == 200


def test_create_rename_move_are_audited(nongxin_client, nongxin_uow):
    admin = nongxin_client.as_user("jinan.admin")
    created = admin.post("/api/institutions", json={"code": "JNRCB-LC", "name": "历城支行",
                                                     "level": "branch", "parent": "JNRCB"})
    assert created.status_code == 201, created.get_json()
    assert admin.patch("/api/institutions/JNRCB-LX-G01", json={"name": "泉城路一网格"}).status_code == 200
    moved = admin.patch("/api/institutions/JNRCB-LX-G01", json={"parent": "JNRCB-LC"})
    assert moved.get_json()["parent"] == "JNRCB-LC"
    grid = nongxin_uow.session.execute(sa.select(Institution).where(Institution.code == "JNRCB-LX-G01")).scalar_one()
    branch = nongxin_uow.session.execute(sa.select(Institution).where(Institution.code == "JNRCB-LC")).scalar_one()
    assert grid.path.startswith(branch.path)
    actions = [e.action for e in nongxin_uow.session.execute(
        sa.select(AuditEntry).where(AuditEntry.target == "institution:JNRCB-LX-G01").order_by(AuditEntry.id)).scalars()]
    assert actions[-2:] == ["institution.rename", "institution.move"]


def test_grid_under_province_is_422_naming_parent(nongxin_client, nongxin_uow):
    before = count(nongxin_uow, Institution)
    resp = nongxin_client.as_user("province.admin").post(
        "/api/institutions", json={"code": "G9", "name": "网格", "level": "grid", "parent": "SD"})
    assert resp.status_code == 422
    assert "parent" in resp.get_json()["fields"]
    assert count(nongxin_uow, Institution) == before


def test_duplicate_code_is_409(nongxin_client):
    resp = nongxin_client.as_user("province.admin").post(
        "/api/institutions", json={"code": "JNRCB", "name": "重复", "level": "county", "parent": "SD-LZ"})
    assert resp.status_code == 409
    assert resp.get_json()["error"] == "duplicate_code"


def test_move_under_own_descendant_is_refused(nongxin_client):
    resp = nongxin_client.as_user("province.admin").patch("/api/institutions/SD-LZ", json={"parent": "JNRCB"})
    assert resp.status_code == 422


def test_failed_patch_leaves_rename_undone(nongxin_client, nongxin_uow):
    resp = nongxin_client.as_user("jinan.admin").patch(
        "/api/institutions/JNRCB-LX-G01", json={"name": "新名字", "parent": "SD"})
    assert resp.status_code == 404  # SD is outside the Jinan admin's subtree
    grid = nongxin_uow.session.execute(sa.select(Institution).where(Institution.code == "JNRCB-LX-G01")).scalar_one()
    assert grid.name == "泉城路网格"


def test_unknown_field_rejected_by_name(nongxin_client):
    resp = nongxin_client.as_user("jinan.admin").post(
        "/api/institutions", json={"code": "X1", "name": "x", "level": "branch", "parent": "JNRCB", "colour": "red"})
    assert resp.status_code == 422
    assert "colour" in resp.get_json()["fields"]


def test_malformed_json_is_400(nongxin_client):
    resp = nongxin_client.as_user("jinan.admin").post(
        "/api/institutions", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "bad_request"


def test_role_without_permission_is_403(nongxin_client):
    resp = nongxin_client.as_user("jinan.cm").post(
        "/api/institutions", json={"code": "X2", "name": "x", "level": "grid", "parent": "JNRCB-LX"})
    assert resp.status_code == 403
    assert resp.get_json()["error"] == "forbidden"


def test_county_admin_cannot_create_in_another_county(nongxin_client):
    resp = nongxin_client.as_user("jinan.admin").post(
        "/api/institutions", json={"code": "X3", "name": "x", "level": "branch", "parent": "LYRCB"})
    assert resp.status_code == 404


def test_the_role_is_checked_before_the_body_is_validated(nongxin_client):
    cm = nongxin_client.as_user("jinan.cm")
    blank = cm.post("/api/institutions", json={"code": "X-1", "name": "", "level": "branch", "parent": "JNRCB"})
    assert blank.status_code == 403, blank.get_json()
    assert cm.patch("/api/institutions/JNRCB-LX", json={}).status_code == 403
    assert cm.patch("/api/institutions/JNRCB-LX", json={"name": ""}).status_code == 403
    assert cm.post("/api/users", json={"username": "", "role": "boss"}).status_code == 403


def test_an_empty_change_is_refused(nongxin_client, nongxin_uow):
    resp = nongxin_client.as_user("jinan.admin").patch("/api/institutions/JNRCB-LX", json={})
    assert resp.status_code == 422 and resp.get_json()["error"] == "empty_change"
    renames = nongxin_client.as_user("jinan.admin").get("/api/audit?action=institution.rename").get_json()
    assert renames == []
