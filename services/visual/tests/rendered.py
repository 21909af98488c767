"""A rendered test set: UI screenshots, slides, diagrams and scanned-looking pages drawn with Pillow, each
with known text and layout, some rotated or noisy; text queries with their relevant images, and image
queries (crops, rescales, recompressions) with their source. Shared by the tests and `make bench`.

Deterministic for a given seed: the same scenes, words and pixels every run.
"""

from __future__ import annotations

import io
import itertools
import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when installed, else Pillow's bundled default font at that size."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size)


@dataclass
class Scene:
    key: str
    kind: str  # ui, slide, diagram, scan
    text: list[str]  # every string drawn, in reading order
    image: Image.Image = field(repr=False)
    title: str = ""


@dataclass(frozen=True)
class TextQuery:
    query: str
    relevant: dict[str, int]  # scene key -> graded relevance (2 exact, 1 related)


SCREENS = [
    ("Checkout", "Place order", (30, 90, 220), "blue", ["Order summary", "Shipping address", "Total: $129.99"]),
    ("Login", "Sign in", (34, 139, 34), "green", ["Email address", "Password", "Forgot password?"]),
    ("Settings", "Save changes", (120, 120, 120), "grey", ["Notifications", "Dark mode", "Language: English"]),
    ("Dashboard", "Export report", (220, 120, 20), "orange", ["Monthly revenue", "Active users 4,210", "Churn 2.1%"]),
    ("Profile", "Edit profile", (128, 0, 128), "purple", ["Jane Cooper", "Product designer", "Joined March 2024"]),
    ("Cart", "Checkout now", (200, 30, 30), "red", ["3 items in your cart", "Subtotal $87.50", "Apply coupon"]),
    ("Signup", "Create account", (0, 128, 128), "teal", ["Full name", "Work email", "Accept terms of service"]),
    ("Search results", "Load more", (30, 90, 220), "blue", ["Results for running shoes", "Sort by price", "Filters"]),
]
SLIDES = [
    ("Quarterly revenue review", ["Revenue grew 18% year over year", "Enterprise deals closed: 42", "Next: Q3 plan"]),
    ("Hiring plan 2025", ["Ten engineers in platform team", "Two designers", "Open roles in Berlin"]),
    ("Security roadmap", ["Rotate credentials every 90 days", "Single sign-on for all apps", "Audit logging"]),
    ("Customer onboarding", ["Welcome email on day one", "Kickoff call in week one", "Health score after 30 days"]),
    ("Pricing experiment", ["Annual plan discount 20%", "Free trial extended to 30 days", "Conversion up 6%"]),
]
DIAGRAMS = [
    ("Checkout architecture", ["Web app", "API gateway", "Payment service", "Postgres"]),
    ("Data pipeline", ["Kafka", "Spark jobs", "Data lake", "BI dashboards"]),
    ("Auth flow", ["Browser", "Identity provider", "Token service", "Resource server"]),
    ("Deployment", ["GitHub", "CI runner", "Container registry", "Kubernetes cluster"]),
]
SCANS = [
    ("Invoice", ["ACME Supplies Ltd", "Invoice number INV-2041", "Amount due: 1,250.00 EUR", "Due date 2024-07-31"]),
    ("Lease agreement", ["Residential lease", "Tenant: Robert Miles", "Monthly rent 950 GBP", "Term twelve months"]),
    ("Meeting minutes", ["Board meeting minutes", "Attendees: Chen, Alvarez, Novak", "Decision: approve budget"]),
    ("Shipping manifest", ["Manifest 88213", "Container MSKU 4410", "Port of Rotterdam", "Gross weight 12,400 kg"]),
    ("Warranty card", ["Warranty registration", "Model XR-500 blender", "Serial 55-9921", "Valid two years"]),
]

# Near neighbours of the scenes above (same kind of screen or document, other words), so that a ranker
# has to tell them apart.
DISTRACTOR_SCREENS = [
    (
        "ui-checkout-green",
        "Checkout",
        "Pay now",
        (34, 139, 34),
        ["Payment method", "Card ending 4242", "Total: $54.00"],
    ),
    ("ui-login-sso", "Login", "Continue with SSO", (30, 90, 220), ["Company domain", "Use single sign-on", "Back"]),
]
DISTRACTOR_SLIDES = [("slide-revenue-2", "Revenue forecast", ["Forecast 2025: 12% growth", "Risks: churn in SMB"])]
DISTRACTOR_DIAGRAMS = [("diagram-auth-2", "Login architecture", ["Mobile app", "Auth service", "User database"])]
DISTRACTOR_SCANS = [
    ("scan-invoice-2", "Invoice", ["Northwind Traders", "Invoice number INV-1999", "Amount due: 310.00 USD"]),
    ("scan-lease-2", "Lease agreement", ["Commercial lease", "Tenant: Harbor Cafe LLC", "Monthly rent 4,200 USD"]),
]


def _ui(name: str, button: str, colour: tuple[int, int, int], lines: list[str], rng: random.Random) -> Image.Image:
    image = Image.new("RGB", (960, 600), (248, 248, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 960, 64), fill=(32, 36, 48))
    draw.text((24, 18), f"{name}", font=font(26, bold=True), fill="white")
    draw.text((760, 22), "Help  Account", font=font(18), fill=(200, 200, 210))
    top = 110 + rng.randint(0, 30)
    for i, line in enumerate(lines):
        draw.rounded_rectangle((40, top + i * 80, 560, top + i * 80 + 56), radius=8, outline=(200, 200, 210), width=2)
        draw.text((56, top + i * 80 + 14), line, font=font(22), fill=(40, 40, 40))
    left = 620 + rng.randint(0, 40)
    draw.rounded_rectangle((left, 420, left + 260, 484), radius=10, fill=colour)
    draw.text((left + 30, 436), button, font=font(24, bold=True), fill="white")
    return image


def _slide(title: str, bullets: list[str], rng: random.Random) -> Image.Image:
    background = rng.choice([(255, 255, 255), (240, 244, 255), (255, 248, 236)])
    image = Image.new("RGB", (1280, 720), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1280, 12), fill=rng.choice([(200, 40, 60), (40, 90, 200), (30, 150, 90)]))
    draw.text((80, 70), title, font=font(54, bold=True), fill=(20, 20, 30))
    for i, bullet in enumerate(bullets):
        draw.ellipse((90, 232 + i * 110, 106, 248 + i * 110), fill=(80, 80, 90))
        draw.text((130, 218 + i * 110), bullet, font=font(36), fill=(50, 50, 60))
    return image


def _diagram(title: str, boxes: list[str], rng: random.Random) -> Image.Image:
    image = Image.new("RGB", (1100, 700), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), title, font=font(34, bold=True), fill="black")
    fill = rng.choice([(225, 238, 255), (230, 250, 230), (255, 240, 225)])
    centres = []
    for i, label in enumerate(boxes):
        x, y = 60 + (i % 2) * 560, 160 + (i // 2) * 260
        draw.rectangle((x, y, x + 400, y + 120), fill=fill, outline=(40, 40, 40), width=3)
        draw.text((x + 24, y + 42), label, font=font(30), fill=(20, 20, 20))
        centres.append((x + 200, y + 60))
    for (x0, y0), (x1, y1) in itertools.pairwise(centres):
        draw.line((x0, y0 + 60, x1, y1 - 60), fill=(60, 60, 60), width=4)
    return image


def _scan(title: str, lines: list[str], rng: random.Random, rotated: bool) -> Image.Image:
    image = Image.new("L", (1000, 1300), 238)
    draw = ImageDraw.Draw(image)
    draw.text((80, 80), title.upper(), font=font(44, bold=True), fill=20)
    for i, line in enumerate(lines):
        draw.text((80, 220 + i * 90), line, font=font(32), fill=35)
    for _ in range(1500):  # speckle, as a cheap scanner leaves
        x, y = rng.randrange(1000), rng.randrange(1300)
        draw.point((x, y), fill=rng.randint(60, 200))
    page = image.filter(ImageFilter.GaussianBlur(0.6)).rotate(rng.uniform(-2.5, 2.5), fillcolor=238, expand=False)
    if rotated:
        page = page.rotate(90, expand=True)
    return page.convert("RGB")


@cache
def scenes(seed: int = 7) -> tuple[Scene, ...]:
    """Every scene of the set: 10 UI screens, 6 slides, 5 diagrams, 7 scans (one of them sideways)."""
    rng = random.Random(seed)
    out: list[Scene] = []
    for name, button, colour, _, lines in SCREENS:
        image = _ui(name, button, colour, lines, rng)
        out.append(Scene(f"ui-{name.lower().replace(' ', '-')}", "ui", [name, *lines, button], image))
    for title, bullets in SLIDES:
        out.append(Scene(f"slide-{title.split()[0].lower()}", "slide", [title, *bullets], _slide(title, bullets, rng)))
    for title, boxes in DIAGRAMS:
        key = f"diagram-{title.split()[0].lower()}"
        out.append(Scene(key, "diagram", [title, *boxes], _diagram(title, boxes, rng)))
    for i, (title, lines) in enumerate(SCANS):
        image = _scan(title, lines, rng, rotated=i == 1)
        out.append(Scene(f"scan-{title.split()[0].lower()}", "scan", [title, *lines], image))
    for key, name, button, colour, lines in DISTRACTOR_SCREENS:
        out.append(Scene(key, "ui", [name, *lines, button], _ui(name, button, colour, lines, rng)))
    for key, title, bullets in DISTRACTOR_SLIDES:
        out.append(Scene(key, "slide", [title, *bullets], _slide(title, bullets, rng)))
    for key, title, boxes in DISTRACTOR_DIAGRAMS:
        out.append(Scene(key, "diagram", [title, *boxes], _diagram(title, boxes, rng)))
    for key, title, lines in DISTRACTOR_SCANS:
        out.append(Scene(key, "scan", [title, *lines], _scan(title, lines, rng, rotated=False)))
    return tuple(out)


# Written before tuning, by reading the scenes above, and kept fixed: the queries a user would type.
TEXT_QUERIES = [
    TextQuery(
        "the mockup of the checkout page with the blue button", {"ui-checkout": 2, "ui-checkout-green": 1, "ui-cart": 1}
    ),
    TextQuery("login screen with forgot password link", {"ui-login": 2, "ui-login-sso": 1, "ui-signup": 1}),
    TextQuery("settings with dark mode toggle", {"ui-settings": 2}),
    TextQuery("dashboard showing monthly revenue and churn", {"ui-dashboard": 2, "slide-quarterly": 1}),
    TextQuery("user profile of Jane Cooper", {"ui-profile": 2}),
    TextQuery("shopping cart with coupon", {"ui-cart": 2, "ui-checkout": 1}),
    TextQuery("sign up form create account", {"ui-signup": 2, "ui-login": 1}),
    TextQuery("search results for running shoes", {"ui-search-results": 2}),
    TextQuery(
        "slide about revenue growth this quarter", {"slide-quarterly": 2, "slide-revenue-2": 1, "ui-dashboard": 1}
    ),
    TextQuery("hiring plan for engineers and designers", {"slide-hiring": 2}),
    TextQuery("security roadmap single sign-on", {"slide-security": 2, "diagram-auth": 1, "ui-login-sso": 1}),
    TextQuery("customer onboarding steps", {"slide-customer": 2}),
    TextQuery("pricing experiment with free trial", {"slide-pricing": 2}),
    TextQuery("architecture diagram with the payment service", {"diagram-checkout": 2}),
    TextQuery("data pipeline kafka spark", {"diagram-data": 2}),
    TextQuery(
        "authentication flow with identity provider", {"diagram-auth": 2, "diagram-auth-2": 1, "slide-security": 1}
    ),
    TextQuery("deployment to kubernetes from CI", {"diagram-deployment": 2}),
    TextQuery("invoice INV-2041", {"scan-invoice": 2, "scan-invoice-2": 1}),
    TextQuery("lease agreement for Robert Miles", {"scan-lease": 2, "scan-lease-2": 1}),
    TextQuery("board meeting minutes budget decision", {"scan-meeting": 2}),
    TextQuery("shipping manifest port of Rotterdam", {"scan-shipping": 2}),
    TextQuery("warranty for the blender", {"scan-warranty": 2}),
]

# The same needs in other words than the images use (synonyms, no shared content words where possible):
# what text similarity has to carry when keywords cannot.
PARAPHRASED_QUERIES = [
    TextQuery("purchase confirmation screen", {"ui-checkout": 2, "ui-checkout-green": 2, "ui-cart": 1}),
    TextQuery("sign in page", {"ui-login": 2, "ui-login-sso": 2, "ui-signup": 1}),
    TextQuery("preferences page with a theme switch", {"ui-settings": 2}),
    TextQuery("analytics overview with KPIs", {"ui-dashboard": 2, "slide-quarterly": 1}),
    TextQuery("account page of a designer", {"ui-profile": 2}),
    TextQuery("basket with a discount code", {"ui-cart": 2}),
    TextQuery("registration form", {"ui-signup": 2, "ui-login": 1}),
    TextQuery("product listing for sneakers", {"ui-search-results": 2}),
    TextQuery("earnings presentation", {"slide-quarterly": 2, "slide-revenue-2": 1}),
    TextQuery("recruiting slide", {"slide-hiring": 2}),
    TextQuery("SSO and key rotation plan", {"slide-security": 2, "ui-login-sso": 1}),
    TextQuery("welcoming new clients", {"slide-customer": 2}),
    TextQuery("subscription price test", {"slide-pricing": 2}),
    TextQuery("system design of the payments backend", {"diagram-checkout": 2}),
    TextQuery("streaming ETL drawing", {"diagram-data": 2}),
    TextQuery("OAuth sequence", {"diagram-auth": 2, "diagram-auth-2": 1}),
    TextQuery("release process from repo to k8s", {"diagram-deployment": 2}),
    TextQuery("bill from the office supplier", {"scan-invoice": 2, "scan-invoice-2": 1}),
    TextQuery("apartment rental contract", {"scan-lease": 2, "scan-lease-2": 1}),
    TextQuery("notes from the directors' meeting", {"scan-meeting": 2}),
    TextQuery("cargo list for the Dutch harbour", {"scan-shipping": 2}),
    TextQuery("kitchen appliance guarantee", {"scan-warranty": 2}),
]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def variants(image: Image.Image) -> dict[str, bytes]:
    """Image queries made from an indexed image: a crop, a rescale and a hard recompression."""
    width, height = image.size
    crop = image.crop((int(width * 0.1), int(height * 0.1), int(width * 0.85), int(height * 0.9)))
    half = image.resize((width // 2, height // 2), Image.Resampling.BILINEAR)
    return {"crop": png(crop), "rescale": png(half), "recompress": jpeg(image, 30)}


def ndcg(ranked: list[str], relevant: dict[str, int], k: int = 5) -> float:
    """Normalised discounted cumulative gain of `ranked` at k, with graded relevance."""
    import math

    gain = sum(relevant.get(key, 0) / math.log2(i + 2) for i, key in enumerate(ranked[:k]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(relevant.values(), reverse=True)[:k]))
    return gain / ideal if ideal else 0.0
