"""The product catalog: which features each plan tier includes (tiers are cumulative)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from copilot.domain import Slug, SuccessPlan
from copilot.errors import ConfigError, Problem

CATALOG_FILE = "catalog.yaml"


class ProductInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    plans: dict[Slug, list[Slug]] = Field(min_length=1, description="tier -> features it adds")
    plans_article: str | None = Field(
        default=None,
        description="the article comparing the tiers: the answer of record to 'can we do X?'",
    )


class Catalog(BaseModel):
    """Products, their tiers in ascending order, and the features each tier adds."""

    model_config = ConfigDict(extra="forbid")

    company: str = ""
    help_center: str | None = None
    products: dict[Slug, ProductInfo] = {}

    def tiers(self, product: str) -> list[str]:
        """Tiers of a product, lowest first."""
        info = self.products.get(product)
        return list(info.plans) if info else []

    def features_for(self, product: str, plan: str) -> set[str]:
        """Every feature a tier includes, its own and those of the tiers below it."""
        info = self.products.get(product)
        if info is None or plan not in info.plans:
            return set()
        features: set[str] = set()
        for tier, added in info.plans.items():
            features.update(added)
            if tier == plan:
                break
        return features

    def lowest_tier_with(self, product: str, feature: str) -> str | None:
        """The cheapest tier of a product that includes a feature."""
        info = self.products.get(product)
        if info is None:
            return None
        return next((tier for tier, added in info.plans.items() if feature in added), None)

    def plans_article(self, product: str) -> str | None:
        """The id of the article that compares a product's tiers, if the catalog names one."""
        info = self.products.get(product)
        return info.plans_article if info else None

    def all_features(self) -> set[str]:
        """Every feature slug of every product."""
        return {
            f for info in self.products.values() for added in info.plans.values() for f in added
        }

    def check_plan(self, plan: SuccessPlan, source: str) -> list[Problem]:
        """Problems with a success plan's products and entitlements against this catalog."""
        problems: list[Problem] = []
        owned_features: set[str] = set()  # every tier of every owned product (add-ons allowed)
        for owned in plan.products:
            if owned.product not in self.products:
                problems.append(
                    Problem(
                        source,
                        f"unknown product '{owned.product}'",
                        "products",
                        fix=f"use one of {sorted(self.products)}",
                    )
                )
                continue
            if owned.plan not in self.products[owned.product].plans:
                problems.append(
                    Problem(
                        source,
                        f"unknown plan '{owned.plan}' for {owned.product}",
                        "products",
                        fix=f"use one of {self.tiers(owned.product)}",
                    )
                )
                continue
            owned_features |= {
                f for added in self.products[owned.product].plans.values() for f in added
            }
        known = self.all_features()
        unknown = sorted(set(plan.entitlements) - known)
        if unknown:
            problems.append(
                Problem(
                    source,
                    f"entitlements {unknown} are not features of any product",
                    "entitlements",
                    fix="check the spelling against catalog.yaml",
                )
            )
        foreign = sorted(set(plan.entitlements) & known - owned_features)
        if foreign and not any(p.field == "products" for p in problems):
            problems.append(
                Problem(
                    source,
                    f"entitlements {foreign} belong to products the account does not own",
                    "entitlements",
                    fix="add the product to `products` or remove these entitlements",
                )
            )
        return problems

    def add_ons(self, plan: SuccessPlan) -> list[str]:
        """Entitlements beyond what the owned tiers include (bought as add-ons)."""
        allowed: set[str] = set()
        for owned in plan.products:
            allowed |= self.features_for(owned.product, owned.plan)
        return sorted(set(plan.entitlements) - allowed)


def load_catalog(path: Path) -> Catalog:
    """Read a catalog.yaml file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Catalog.model_validate(data)


def find_catalog(paths: list[Path]) -> Catalog | None:
    """The catalog of these folders: the `catalog.yaml` at the top of each, or, for a folder
    that holds several companies' knowledge (`knowledge/<company>/`), the one at the top of each
    of its subfolders; several catalogs are merged into one."""
    found: list[Path] = []
    for root in paths:
        folder = root if root.is_dir() else root.parent
        if (folder / CATALOG_FILE).is_file():
            found.append(folder / CATALOG_FILE)
        elif folder.is_dir():
            found += sorted(p for p in folder.glob(f"*/{CATALOG_FILE}") if p.is_file())
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        return None
    return merge_catalogs([(str(p), load_catalog(p)) for p in unique])


def merge_catalogs(catalogs: list[tuple[str, Catalog]]) -> Catalog:
    """One catalog of several companies' products; a product slug may belong to one only."""
    if len(catalogs) == 1:
        return catalogs[0][1]
    products: dict[str, ProductInfo] = {}
    owner: dict[str, str] = {}
    for source, catalog in catalogs:
        for slug, info in catalog.products.items():
            if slug in products:
                raise ConfigError(
                    f"product {slug!r} is defined in both {owner[slug]} and {source}; "
                    "give each company's products distinct slugs"
                )
            products[slug], owner[slug] = info, source
    companies = [c.company for _, c in catalogs if c.company]
    return Catalog(company=", ".join(dict.fromkeys(companies)), products=products)
