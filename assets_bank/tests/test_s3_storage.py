"""With S3 storage, asset files live in the bucket and reach the pipeline and clients from there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from assets_bank.materialize import materialize
from assets_bank.models import Asset
from assets_bank.tests.conftest import audio_bytes, tone_burst, upload
from metalizer_site.s3_storage import BACKEND as S3_BACKEND
from metalizer_site.s3_storage import s3_storage_options
from metalizer_site.tests.integration import services
from pipeline.asset_layout import DEFAULT_KIT
from pipeline.assets import load_kit

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.S3Server]:
    try:
        server = services.start_seaweedfs(
            tmp_path_factory.mktemp("assets-weed"), bucket="metalizer-assets-it"
        )
    except services.ServiceError as exc:
        pytest.fail(f"SeaweedFS: {exc}", pytrace=False)
    try:
        yield server
    finally:
        services.stop_seaweedfs(server)


@pytest.fixture
def s3_storage(settings, seaweed: services.S3Server) -> services.S3Server:
    settings.METALIZER_STORAGE = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": S3_BACKEND,
            "OPTIONS": s3_storage_options(
                bucket=seaweed.bucket,
                endpoint_url=seaweed.endpoint,
                access_key=seaweed.access_key,
                secret_key=seaweed.secret_key,
                region=seaweed.region,
                signed_url_ttl_s=300,
            ),
        },
    }
    return seaweed


def test_uploaded_assets_land_in_the_bucket_and_leave_it_on_delete(
    s3_storage, staff_client, django_capture_on_commit_callbacks
):
    kick = audio_bytes(tone_burst(900, 0.3))
    response = staff_client.post(
        "/api/assets/upload",
        {"file": upload("kick.wav", kick), "pack_name": "Bucket kit", "kind": "drums", "role": "kick"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    asset = Asset.objects.get(pk=body["id"])
    assert s3_storage.object_keys("assets/") == [asset.file.name]
    assert asset.file.name.startswith("assets/bucket-kit/")

    download = staff_client.get(body["download"])
    assert download.status_code == 302 and "X-Amz-Signature" in download["Location"]
    fetched = requests.get(download["Location"], timeout=30)
    assert fetched.status_code == 200 and fetched.content == kick
    assert "attachment" in fetched.headers.get("Content-Disposition", "")

    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.delete(f"/api/assets/{asset.pk}").status_code == 204
    assert s3_storage.object_keys("assets/") == []


def test_default_bank_in_s3_materialises_for_the_pipeline(s3_storage, default_bank, tmp_path):
    keys = s3_storage.object_keys("assets/")
    assert len(keys) == Asset.objects.count() and all(k.startswith("assets/") for k in keys)
    snapshot = materialize(tmp_path / "bank")
    kit = load_kit(tmp_path / "bank", DEFAULT_KIT)
    assert kit.roles["kick"] and snapshot["fallback"] == []


def test_an_object_lost_from_the_bucket_is_skipped_and_filled_not_fatal(s3_storage, default_bank, tmp_path):
    from assets_bank.models import Kind

    kit = default_bank[Kind.DRUMS]
    lost = list(kit.assets.filter(role="snare"))
    s3_storage.client().delete_objects(
        Bucket=s3_storage.bucket, Delete={"Objects": [{"Key": a.file.name} for a in lost]}
    )
    snapshot = materialize(tmp_path / "bank", fallback_dir=services.REPO / "assets")
    reasons = {s["asset"]: s["reason"] for s in snapshot["skipped"]}
    assert all("missing from storage" in reasons[a.pk] for a in lost)
    assert snapshot["played"]["drums"] == kit.pk and snapshot["storage_errors"] is True
    assert load_kit(tmp_path / "bank", DEFAULT_KIT).roles["snare"]  # filled from the shipped kit
    assert snapshot["filled_roles"]["snare"] == {"shipped": f"drums/{DEFAULT_KIT}"}
