"""The product catalogue and the approval tiers: managed by sales_ops and admin through the API, and by a YAML CLI."""

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from samples.entrypoints import cli
from shangji.samples.v1 import samples_pb2 as pb

from .conftest import reason, violations


def _products(world, user_id: str, **kw) -> list[str]:
    return [p.code for p in world.sam(user_id).ListProducts(pb.ListProductsRequest(**kw)).products]


def test_sales_ops_manage_the_catalogue_and_everyone_reads_it(world):
    admin = world.sam(world.ops)
    created = admin.CreateProduct(pb.CreateProductRequest(product=pb.Product(
        code="GAUGE-2", display_name="压力表", unit_cost="12.345", currency="cny", active=True)))
    assert (created.name, created.unit_cost, created.currency) == ("products/GAUGE-2", "12.345", "CNY")
    assert _products(world, world.rep) == ["GAUGE-2", "PUMP", "VALVE"]
    assert _products(world, world.rep, show_inactive=True) == ["GAUGE-2", "PUMP", "RETIRED", "VALVE"]
    first = world.sam(world.rep).ListProducts(pb.ListProductsRequest(page_size=2))
    rest = world.sam(world.rep).ListProducts(pb.ListProductsRequest(page_size=2, page_token=first.next_page_token))
    assert [p.code for p in first.products] + [p.code for p in rest.products] == ["GAUGE-2", "PUMP", "VALVE"]

    updated = admin.UpdateProduct(pb.UpdateProductRequest(
        product=pb.Product(name="products/PUMP", unit_cost="150", active=False),
        update_mask=FieldMask(paths=["unit_cost"])))
    assert (updated.unit_cost, updated.active) == ("150", True)     # only the masked field changes
    retired = admin.UpdateProduct(pb.UpdateProductRequest(product=pb.Product(name="products/PUMP", active=False),
                                                          update_mask=FieldMask(paths=["active"])))
    assert not retired.active
    with pytest.raises(grpc.RpcError) as exc:
        world.create(None, ("PUMP", 1))
    assert violations(exc.value) == ["sample_request.lines[0].product"]


def test_the_catalogue_refuses_others_and_bad_values(world):
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.manager).CreateProduct(pb.CreateProductRequest(product=pb.Product(
            code="X", display_name="x", unit_cost="1")))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.ops).CreateProduct(pb.CreateProductRequest(product=pb.Product(
            code="X", display_name="", unit_cost="-1", currency="元")))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(exc.value)) == {"product.display_name", "product.unit_cost", "product.currency"}
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.ops).CreateProduct(pb.CreateProductRequest(product=pb.Product(
            code="PUMP", display_name="again", unit_cost="1")))
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.ops).UpdateProduct(pb.UpdateProductRequest(product=pb.Product(name="products/NOPE"),
                                                                   update_mask=FieldMask(paths=["active"])))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert _products(world, world.rep, show_inactive=True) == ["PUMP", "RETIRED", "VALVE"]


def _tier(name, role="department_head", quantity=None, cost=""):
    tier = pb.ApprovalTier(name=name, approver_role=role, max_estimated_cost=cost)
    if quantity is not None:
        tier.max_total_quantity = quantity
    return tier


def test_the_default_policy_and_replacing_it(world):
    policy = world.sam(world.rep).GetApprovalPolicy(pb.GetApprovalPolicyRequest())
    assert [(t.name, t.max_total_quantity if t.HasField("max_total_quantity") else None, t.max_estimated_cost)
            for t in policy.tiers] == [("sales_manager", 10, "5000"), ("sales_director", 100, "50000"),
                                       ("vp", None, "")]
    new = world.sam(world.ops).UpdateApprovalPolicy(pb.UpdateApprovalPolicyRequest(policy=pb.ApprovalPolicy(
        tiers=[_tier("team_lead", quantity=2), _tier("anyone_managing", role="sales_manager")])))
    assert [t.name for t in new.tiers] == ["team_lead", "anyone_managing"]
    # Three units pass the first tier's limit; the second tier's approver is the next sales_manager up the chain.
    created = world.create(None, ("PUMP", 3))
    assert [(s.tier, s.approver) for s in created.approval_steps] == [
        ("team_lead", f"users/{world.manager}"), ("anyone_managing", f"users/{world.director}")]


def test_a_bad_policy_is_refused_whole(world):
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.ops).UpdateApprovalPolicy(pb.UpdateApprovalPolicyRequest(policy=pb.ApprovalPolicy(
            tiers=[_tier("a", quantity=10), _tier("b", quantity=5)])))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and reason(exc.value) == "INVALID_APPROVAL_POLICY"
    assert set(violations(exc.value)) == {"policy.tiers[1]", "policy.tiers[1].max_total_quantity"}
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.rep).UpdateApprovalPolicy(pb.UpdateApprovalPolicyRequest(policy=pb.ApprovalPolicy(
            tiers=[_tier("all")])))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert [t.name for t in world.sam(world.rep).GetApprovalPolicy(pb.GetApprovalPolicyRequest()).tiers] == [
        "sales_manager", "sales_director", "vp"]


def test_the_cli_loads_tiers_from_yaml_or_refuses_the_file(world, tmp_path, capsys):
    good = tmp_path / "tiers.yaml"
    good.write_text("currency: CNY\ntiers:\n"
                    "  - {name: manager, max_total_quantity: 1, approver_role: department_head}\n"
                    "  - {name: vp, approver_role: department_head}\n", encoding="utf-8")
    assert cli.main(["load-tiers", str(good)]) == 0
    assert [(s.tier, s.approver) for s in world.create(None, ("PUMP", 2)).approval_steps] == [
        ("manager", f"users/{world.manager}"), ("vp", f"users/{world.director}")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("tiers:\n  - {name: only, max_total_quantity: many, approver_role: x}\n", encoding="utf-8")
    assert cli.main(["load-tiers", str(bad)]) == 1
    assert "tiers[0].max_total_quantity" in capsys.readouterr().err
    assert cli.main(["show-tiers"]) == 0
    assert "{name: manager, max_total_quantity: 1, approver_role: department_head}" in capsys.readouterr().out
