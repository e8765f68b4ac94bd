"""A pack's admin page in a real browser, as staff see it at 1280 px: no sideways scrolling."""

from __future__ import annotations

import pytest

from metalizer_site.tests.integration import services

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PASSWORD = "a-long-staff-password-for-the-browser-test"


def manage(site, *args: str) -> str:  # type: ignore[no-untyped-def]
    env = services.clean_env({"METALIZER_DEBUG": "1", "METALIZER_DATA_DIR": str(site.data_dir)})
    result = services.run_manage(list(args), env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_default_kits_admin_page_fits_1280_px(site, new_page, shots):
    manage(site, "load_default_assets")
    manage(
        site,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='staff').exists() or "
        f"User.objects.create_superuser('staff', 'staff@example.com', '{PASSWORD}')",
    )
    pack_id = manage(
        site,
        "shell",
        "-c",
        "from assets_bank.models import Pack; "
        "print('PACK', Pack.objects.get(kind='drums', is_default=True).pk)",
    )
    pack_id = pack_id.split("PACK ")[-1].split()[0]
    page = new_page(width=1280, height=900)
    page.goto(site.url("/admin/login/?next=/admin/"))
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(site.url("/admin/"))
    page.goto(site.url(f"/admin/assets_bank/pack/{pack_id}/change/"))
    assert page.locator("#assets-group .field-short_sha256 code").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shots(page, "admin-pack-1280")
