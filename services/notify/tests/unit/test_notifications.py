from datetime import UTC, datetime, timedelta

from notify.domain import model

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def notice() -> model.Notification:
    return model.opportunity_registered(
        id="n1", recipient_id="u1", opportunity="opportunities/o1", title="智能仓储系统",
        customer_company="华东精密", stage_display_name="发现机会", registrant="users/u2", now=NOW)


def test_a_registration_notice_names_the_deal_company_stage_and_registrant():
    n = notice()
    assert (n.name, n.recipient_id, n.subject) == ("notifications/n1", "u1", "opportunities/o1")
    assert n.title == "新商机已登记：智能仓储系统"
    assert all(part in n.body for part in ("华东精密", "发现机会", "users/u2"))
    assert (n.read, n.read_time, n.create_time) == (False, None, NOW)


def test_marking_read_twice_keeps_the_first_read_time():
    n = notice()
    assert n.mark_read(NOW + timedelta(minutes=1)) is True
    assert n.mark_read(NOW + timedelta(minutes=2)) is False
    assert (n.read, n.read_time) == (True, NOW + timedelta(minutes=1))


def test_a_team_member_notice_names_the_role_and_who_added_them_about_the_deal():
    n = model.team_member_added(id="n2", recipient_id="u1", opportunity="opportunities/o1", role="presales",
                                added_by="users/u2", now=NOW)
    assert (n.recipient_id, n.subject, n.title) == ("u1", "opportunities/o1", "你已加入商机团队")
    assert n.body == "users/u2 已将你加入商机团队，担任售前。"
    assert (n.read, n.create_time) == (False, NOW)


def test_a_role_without_a_chinese_name_is_shown_as_teams_names_it_and_no_role_is_left_out():
    def body(role: str) -> str:
        return model.team_member_added(id="n", recipient_id="u1", opportunity="opportunities/o1", role=role,
                                       added_by="users/u2", now=NOW).body

    assert body("key_account_coach") == "users/u2 已将你加入商机团队，担任key_account_coach。"
    assert body("") == "users/u2 已将你加入商机团队。"
