"""The catalog decides which features a tier includes; the sample knowledge base must agree
with it (entitlements are exactly the tiers' features plus at most one add-on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from copilot.catalog import Catalog, find_catalog, load_catalog
from copilot.domain import SuccessPlan
from ingest.loaders import load_paths
from tests.conftest import KNOWLEDGE
from tests.factories import make_plan

STARTER = ["invoicing", "bank_sync"]
PRO = ["auto_reconcile", "budgets"]
ENTERPRISE = ["api_access", "sso"]


def make_catalog(**overrides: Any) -> dict[str, Any]:
    """A two-product catalog whose Ledgerly tiers are STARTER < PRO < ENTERPRISE."""
    data: dict[str, Any] = {
        "company": "Fernhill Software",
        "products": {
            "ledgerly": {
                "name": "Ledgerly",
                "plans": {"starter": STARTER, "pro": PRO, "enterprise": ENTERPRISE},
            },
            "shiftwise": {
                "name": "Shiftwise",
                "plans": {"starter": ["time_clock"], "pro": ["payroll_export"]},
            },
        },
    }
    data.update(overrides)
    return data


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.model_validate(make_catalog())


def plan(**overrides: Any) -> SuccessPlan:
    return SuccessPlan.model_validate(make_plan(**overrides))


def owns(product: str, tier: str) -> dict[str, str]:
    return {"product": product, "plan": tier}


# --------------------------------------------------------------------------- tiers
def test_tiers_are_listed_lowest_first(catalog: Catalog) -> None:
    assert catalog.tiers("ledgerly") == ["starter", "pro", "enterprise"]
    assert catalog.tiers("unknown") == []


@pytest.mark.parametrize(
    ("tier", "expected"),
    [("starter", STARTER), ("pro", STARTER + PRO), ("enterprise", STARTER + PRO + ENTERPRISE)],
)
def test_features_for_a_tier_include_every_lower_tier(
    catalog: Catalog, tier: str, expected: list[str]
) -> None:
    assert catalog.features_for("ledgerly", tier) == set(expected)


def test_features_for_unknown_product_or_tier_is_empty(catalog: Catalog) -> None:
    assert catalog.features_for("ledgerly", "platinum") == set()
    assert catalog.features_for("nope", "pro") == set()


def test_features_of_one_product_never_leak_into_another(catalog: Catalog) -> None:
    assert catalog.features_for("shiftwise", "pro") == {"time_clock", "payroll_export"}


@pytest.mark.parametrize(
    ("feature", "tier"),
    [("invoicing", "starter"), ("budgets", "pro"), ("sso", "enterprise"), ("payroll_export", None)],
)
def test_lowest_tier_with_a_feature(catalog: Catalog, feature: str, tier: str | None) -> None:
    assert catalog.lowest_tier_with("ledgerly", feature) == tier


def test_lowest_tier_with_for_unknown_product_is_none(catalog: Catalog) -> None:
    assert catalog.lowest_tier_with("nope", "invoicing") is None


def test_all_features_spans_every_product_and_tier(catalog: Catalog) -> None:
    assert catalog.all_features() == {*STARTER, *PRO, *ENTERPRISE, "time_clock", "payroll_export"}


def test_catalog_refuses_unknown_keys_and_products_without_tiers() -> None:
    with pytest.raises(ValueError, match="extra"):
        Catalog.model_validate(make_catalog(currency="EUR"))
    with pytest.raises(ValueError, match="plans"):
        Catalog.model_validate(make_catalog(products={"ledgerly": {"name": "L", "plans": {}}}))


# --------------------------------------------------------------------------- plans
def test_check_plan_accepts_a_plan_that_follows_the_catalog(catalog: Catalog) -> None:
    ok = plan(
        products=[owns("ledgerly", "pro")],
        entitlements=STARTER + PRO,
        adopted_features=["invoicing"],
    )

    assert catalog.check_plan(ok, "acct.yaml") == []


def test_check_plan_flags_an_unknown_product(catalog: Catalog) -> None:
    problems = catalog.check_plan(plan(products=[owns("ledgerlyy", "pro")]), "acct.yaml")

    [problem] = problems
    assert (problem.source, problem.field) == ("acct.yaml", "products")
    assert "unknown product 'ledgerlyy'" in problem.message
    assert problem.fix == "use one of ['ledgerly', 'shiftwise']"


def test_check_plan_flags_an_unknown_tier(catalog: Catalog) -> None:
    problems = catalog.check_plan(plan(products=[owns("ledgerly", "gold")]), "acct.yaml")

    [problem] = problems
    assert problem.field == "products"
    assert "unknown plan 'gold' for ledgerly" in problem.message
    assert problem.fix == "use one of ['starter', 'pro', 'enterprise']"


def test_check_plan_flags_entitlements_that_are_no_feature(catalog: Catalog) -> None:
    bad = plan(
        products=[owns("ledgerly", "pro")],
        entitlements=[*STARTER, "bank_synk", "teleport"],
        adopted_features=[],
    )

    [problem] = catalog.check_plan(bad, "acct.yaml")

    assert problem.field == "entitlements"
    assert "['bank_synk', 'teleport']" in problem.message
    assert problem.fix is not None and "catalog.yaml" in problem.fix


def test_add_ons_are_entitlements_beyond_the_owned_tiers(catalog: Catalog) -> None:
    with_add_on = plan(
        products=[owns("ledgerly", "starter")],
        entitlements=[*STARTER, "budgets"],
        adopted_features=[],
    )

    assert catalog.add_ons(with_add_on) == ["budgets"]


def test_add_ons_count_every_owned_product(catalog: Catalog) -> None:
    both = plan(
        products=[owns("ledgerly", "starter"), owns("shiftwise", "pro")],
        entitlements=[*STARTER, "time_clock", "payroll_export"],
        adopted_features=[],
    )

    assert catalog.add_ons(both) == []


def test_load_and_find_catalog_read_catalog_yaml(tmp_path: Path) -> None:
    (tmp_path / "catalog.yaml").write_text(
        yaml.safe_dump(make_catalog(), sort_keys=False), encoding="utf-8"
    )
    (tmp_path / "articles").mkdir()

    assert load_catalog(tmp_path / "catalog.yaml").tiers("shiftwise") == ["starter", "pro"]
    found = find_catalog([tmp_path / "articles", tmp_path])
    assert found is not None and found.company == "Fernhill Software"
    assert find_catalog([tmp_path / "articles"]) is None


# --------------------------------------------------------------------------- sample KB
@pytest.fixture(scope="module")
def sample_catalog() -> Catalog:
    return load_catalog(KNOWLEDGE / "catalog.yaml")


def test_every_sample_success_plan_is_entitled_to_exactly_its_tiers_plus_one_add_on_at_most(
    sample_catalog: Catalog,
) -> None:
    loaded = load_paths([KNOWLEDGE / "success_plans"])
    assert loaded.problems == []
    assert len(loaded.plans) >= 20

    for account, source in loaded.plans:
        assert sample_catalog.check_plan(account, source) == [], source
        tiers: set[str] = set()
        for owned in account.products:
            tiers |= sample_catalog.features_for(owned.product, owned.plan)
        entitled = set(account.entitlements)
        assert tiers <= entitled, f"{source} lacks tier features {sorted(tiers - entitled)}"
        add_ons = sample_catalog.add_ons(account)
        assert len(add_ons) <= 1, f"{source} has more than one add-on: {add_ons}"
        for add_on in add_ons:
            assert any(
                sample_catalog.lowest_tier_with(o.product, add_on) for o in account.products
            ), f"{source}: add-on {add_on} is not a feature of a product the account owns"


def test_every_published_sample_article_uses_catalog_products_and_features(
    sample_catalog: Catalog,
) -> None:
    loaded = load_paths([KNOWLEDGE / "articles"])
    assert loaded.problems == []
    published = [a for a in loaded.articles if a.served]
    assert len(published) >= 50

    known = sample_catalog.all_features()
    for article in published:
        assert set(article.features) <= known, (
            f"{article.source}: {sorted(set(article.features) - known)} not in catalog.yaml"
        )
        assert set(article.products) <= set(sample_catalog.products), article.source
        for tier in article.plans or []:
            assert any(tier in sample_catalog.tiers(p) for p in article.products), (
                f"{article.source}: plan {tier} is not a tier of {article.products}"
            )


def test_check_plan_flags_entitlements_of_a_product_the_account_does_not_own() -> None:
    from copilot.catalog import load_catalog
    from copilot.domain import SuccessPlan
    from tests.conftest import KNOWLEDGE
    from tests.factories import make_plan

    catalog = load_catalog(KNOWLEDGE / "catalog.yaml")
    plan = SuccessPlan.model_validate(make_plan(entitlements=["invoicing", "geofencing"]))
    (problem,) = catalog.check_plan(plan, "p.yaml")
    assert problem.field == "entitlements" and "geofencing" in problem.message
    upgrade = SuccessPlan.model_validate(make_plan(entitlements=["invoicing", "sso"]))
    assert catalog.check_plan(upgrade, "p.yaml") == []  # a higher tier's add-on is fine


def test_find_catalog_merges_the_catalogs_of_company_subfolders(tmp_path: Path) -> None:
    for company, product in (("a", "alpha"), ("b", "beta")):
        folder = tmp_path / company
        folder.mkdir()
        data = {
            "company": company.upper(),
            "products": {product: {"name": product, "plans": {"basic": [f"{product}_x"]}}},
        }
        (folder / "catalog.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

    merged = find_catalog([tmp_path])

    assert merged is not None
    assert sorted(merged.products) == ["alpha", "beta"]
    assert merged.all_features() == {"alpha_x", "beta_x"}
    assert merged.company == "A, B"
    # a folder with its own catalog.yaml keeps it, whatever its subfolders hold
    assert find_catalog([tmp_path / "a"]) is not None
    assert sorted(find_catalog([tmp_path / "a"]).products) == ["alpha"]  # type: ignore[union-attr]


def test_two_companies_may_not_define_the_same_product(tmp_path: Path) -> None:
    from copilot.errors import ConfigError

    for company in ("a", "b"):
        (tmp_path / company).mkdir()
        data = {"products": {"alpha": {"name": "Alpha", "plans": {"basic": ["x"]}}}}
        (tmp_path / company / "catalog.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

    with pytest.raises(ConfigError, match="product 'alpha' is defined in both"):
        find_catalog([tmp_path])
