"""Staff curate the bank in the admin; nobody else gets in."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from assets_bank.models import Asset, Kind, Pack
from assets_bank.services import add_asset, create_pack
from assets_bank.tests.conftest import audio_bytes, midi_bytes, tone_burst, upload

pytestmark = pytest.mark.django_db


def inline_post(pack_fields: dict, assets: list[dict]) -> dict:  # type: ignore[type-arg]
    data = {
        **pack_fields,
        "assets-TOTAL_FORMS": str(len(assets)),
        "assets-INITIAL_FORMS": "0",
        "assets-MIN_NUM_FORMS": "0",
        "assets-MAX_NUM_FORMS": "1000",
    }
    for i, asset in enumerate(assets):
        data.update({f"assets-{i}-{k}": v for k, v in asset.items()})
    return data


def test_staff_add_a_pack_with_samples_inline(staff_client, staff_user):
    data = inline_post(
        {
            "name": "Garage kit",
            "slug": "garage-kit",
            "kind": "drums",
            "style_tags": ["thrash", "doom"],
            "licence": "CC0",
            "active": "on",
        },
        [
            {
                "role": "kick",
                "file": upload("Kick Hard.WAV", audio_bytes(tone_burst(60))),
                "velocity_min": "0",
                "velocity_max": "1",
                "gain": "1",
                "position": "0",
            },
        ],
    )
    response = staff_client.post(reverse("admin:assets_bank_pack_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    pack = Pack.objects.get(slug="garage-kit")
    asset = pack.assets.get()
    assert (asset.role, asset.name, asset.format, asset.sample_rate) == ("kick", "Kick Hard", "wav", 44100)
    assert pack.created_by == staff_user
    assert pack.style_tags == ["doom", "thrash"]  # ticked among the remix styles, not typed as JSON
    assert asset.file.name.startswith("assets/garage-kit/") and asset.file.storage.exists(asset.file.name)


def test_admin_form_refuses_a_bad_file_with_the_validator_message(staff_client):
    data = inline_post(
        {
            "name": "Bad kit",
            "slug": "bad-kit",
            "kind": "drums",
            "licence": "",
            "active": "on",
        },
        [
            {
                "role": "kick",
                "file": upload("kick.wav", b"not audio at all " * 10),
                "velocity_min": "0",
                "velocity_max": "1",
                "gain": "1",
                "position": "0",
            }
        ],
    )
    response = staff_client.post(reverse("admin:assets_bank_pack_add"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "does not look like audio" in html
    assert not Pack.objects.filter(slug="bad-kit").exists()
    # the row's error is also said at the top of the page, naming the row and its file
    top = html[html.index('id="inline-errors"') : html.index('id="assets-group"')]
    assert "Sample row 1 (kick)" in top and "does not look like audio" in top


def test_change_page_has_an_audio_player_and_a_midi_summary(staff_client, make_file):
    kit = create_pack("Player kit", Kind.DRUMS)
    kick = add_asset(
        kit, make_file("kick.wav", audio_bytes(tone_burst(60))), filename="kick.wav", role="kick"
    )
    page = staff_client.get(reverse("admin:assets_bank_pack_change", args=[kit.pk])).content.decode()
    file_url = reverse("admin:assets_bank_asset_file", args=[kick.pk])
    assert f'<audio controls preload="none" src="{file_url}"' in page
    played = staff_client.get(file_url)
    assert played.status_code == 200 and played["Content-Type"] == "audio/wav"
    assert b"".join(played.streaming_content)[:4] == b"RIFF"

    riffs = create_pack("Riffs", Kind.MIDI)
    add_asset(riffs, make_file("riff.mid", midi_bytes([40, 52], beats=8)), filename="riff.mid", role="riff")
    page = staff_client.get(reverse("admin:assets_bank_pack_change", args=[riffs.pk])).content.decode()
    assert "2 bars, 4/4, 140 BPM, notes E2–E3" in page
    assert "<svg" in page and page.count('fill="#b22"') == 8


def test_staff_import_a_pack_from_a_zip(staff_client):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("my-kit/kick-0.wav", audio_bytes(tone_burst(50)))
        zf.writestr("my-kit/kick-1.wav", audio_bytes(tone_burst(52)))
        zf.writestr("my-kit/snare.flac", audio_bytes(tone_burst(300), fmt="FLAC"))
        zf.writestr("my-kit/LICENSE", "CC-BY 4.0, recorded by the test")
    response = staff_client.post(
        reverse("admin:assets_bank_pack_import"),
        {"archive": upload("my-kit.zip", archive.getvalue()), "name": "Zip kit", "kind": "drums"},
    )
    assert response.status_code == 302
    pack = Pack.objects.get(name="Zip kit")
    assert sorted(pack.assets.values_list("role", flat=True)) == ["kick", "kick", "snare"]
    assert pack.licence.startswith("CC-BY")


def test_import_page_shows_why_an_unsafe_zip_was_refused(staff_client):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../evil.wav", audio_bytes(tone_burst(50)))
    response = staff_client.post(
        reverse("admin:assets_bank_pack_import"),
        {"archive": upload("evil.zip", archive.getvalue()), "kind": "drums", "name": "Evil"},
    )
    assert response.status_code == 200
    assert "points outside the archive" in response.content.decode()
    assert not Pack.objects.exists()


def test_staff_export_a_pack_as_a_zip(staff_client, make_file):
    kit = create_pack("Export kit", Kind.DRUMS, licence="CC0")
    add_asset(kit, make_file("kick.wav", audio_bytes(tone_burst(60))), filename="kick.wav", role="kick")
    response = staff_client.get(reverse("admin:assets_bank_pack_export", args=[kit.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zf:
        manifest = json.loads(zf.read("pack.json"))
        assert manifest["assets"][0]["role"] == "kick" and "kick.wav" in zf.namelist()
    action = staff_client.post(
        reverse("admin:assets_bank_pack_changelist"), {"action": "export_zip", "_selected_action": [kit.pk]}
    )
    assert action["Content-Type"] == "application/zip"
    other = create_pack("Second kit", Kind.DRUMS)
    add_asset(other, make_file("snare.wav", audio_bytes(tone_burst(300))), filename="snare.wav", role="snare")
    both = staff_client.post(
        reverse("admin:assets_bank_pack_changelist"),
        {"action": "export_zip", "_selected_action": [kit.pk, other.pk]},
    )
    with zipfile.ZipFile(io.BytesIO(b"".join(both.streaming_content))) as zf:
        assert sorted(zf.namelist()) == ["export-kit.zip", "second-kit.zip"]


def test_actions_activate_deactivate_and_make_default(staff_client, make_file):
    kit = create_pack("Action kit", Kind.DRUMS)
    for role in ("kick", "snare", "hihat-closed"):
        path = make_file(f"{role}.wav", audio_bytes(tone_burst(100 + len(role))))
        add_asset(kit, path, filename=path.name, role=role)
    changelist = reverse("admin:assets_bank_pack_changelist")
    staff_client.post(changelist, {"action": "deactivate", "_selected_action": [kit.pk]})
    kit.refresh_from_db()
    assert not kit.active
    staff_client.post(changelist, {"action": "make_default", "_selected_action": [kit.pk]})
    kit.refresh_from_db()
    assert kit.is_default and kit.active
    response = staff_client.post(
        changelist, {"action": "deactivate", "_selected_action": [kit.pk]}, follow=True
    )
    kit.refresh_from_db()
    assert kit.active and "make another pack the default" in response.content.decode()


def test_inline_delete_cannot_strip_the_default_kit_of_its_kick(staff_client, make_file):
    kit = create_pack("Guarded kit", Kind.DRUMS)
    assets = []
    for role in ("kick", "snare", "hihat-closed"):
        path = make_file(f"{role}.wav", audio_bytes(tone_burst(200 + len(role))))
        assets.append(add_asset(kit, path, filename=path.name, role=role))
    kit.make_default()
    data = inline_post(
        {"name": kit.name, "slug": kit.slug, "licence": "", "active": "on"},
        [
            {
                "id": str(a.pk),
                "pack": str(kit.pk),
                "role": a.role,
                "velocity_min": "0",
                "velocity_max": "1",
                "gain": "1",
                "position": str(a.position),
                "DELETE": "on" if a.role == "kick" else "",
            }
            for a in assets
        ],
    )
    data["assets-INITIAL_FORMS"] = str(len(assets))
    response = staff_client.post(reverse("admin:assets_bank_pack_change", args=[kit.pk]), data)
    assert response.status_code == 200
    assert "remixes play it" in response.content.decode()
    assert Asset.objects.filter(pack=kit, role="kick").exists()


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:assets_bank_pack_changelist"),
        reverse("admin:assets_bank_pack_add"),
        reverse("admin:assets_bank_pack_import"),
        reverse("admin:assets_bank_asset_changelist"),
    ],
)
def test_a_normal_user_is_sent_to_the_login_page(user_client, url):
    response = user_client.get(url)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_a_normal_user_cannot_fetch_files_or_exports(user_client, make_file):
    kit = create_pack("Private kit", Kind.DRUMS)
    kick = add_asset(
        kit, make_file("kick.wav", audio_bytes(tone_burst(60))), filename="kick.wav", role="kick"
    )
    for url in (
        reverse("admin:assets_bank_asset_file", args=[kick.pk]),
        reverse("admin:assets_bank_pack_export", args=[kit.pk]),
    ):
        response = user_client.get(url)
        assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    response = user_client.post(reverse("admin:assets_bank_pack_import"), {})
    assert response.status_code == 302


def test_staff_replace_a_sample_and_the_old_file_goes(
    staff_client, make_file, django_capture_on_commit_callbacks
):
    kit = create_pack("Swap kit", Kind.DRUMS)
    kick = add_asset(
        kit, make_file("kick.wav", audio_bytes(tone_burst(60))), filename="kick.wav", role="kick"
    )
    old_name, old_sha = kick.file.name, kick.sha256
    kit.refresh_from_db()
    version = kit.version
    page = staff_client.get(reverse("admin:assets_bank_asset_change", args=[kick.pk]))
    assert page.status_code == 200 and "<audio" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:assets_bank_asset_change", args=[kick.pk]),
            {
                "pack": str(kit.pk),
                "name": "kick",
                "role": "kick",
                "file": upload("new kick.flac", audio_bytes(tone_burst(65, 0.6), fmt="FLAC")),
                "position": "0",
                "velocity_min": "0",
                "velocity_max": "1",
                "gain": "1",
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    kick.refresh_from_db()
    kit.refresh_from_db()
    assert kick.sha256 != old_sha and kick.format == "flac" and kick.duration == pytest.approx(0.6, abs=0.01)
    assert kick.file.name.endswith(".flac") and not kick.file.storage.exists(old_name)
    assert kit.version > version


def test_asset_list_filters_and_searches(staff_client, make_file):
    kit = create_pack("Search kit", Kind.DRUMS)
    add_asset(kit, make_file("boom.wav", audio_bytes(tone_burst(60))), filename="boom.wav", role="kick")
    riffs = create_pack("Search riffs", Kind.MIDI)
    add_asset(riffs, make_file("chug.mid", midi_bytes([40])), filename="chug.mid", role="riff")
    changelist = reverse("admin:assets_bank_asset_changelist")
    found = staff_client.get(changelist, {"q": "boom"}).content.decode()
    assert "boom" in found and "chug" not in found
    midi_only = staff_client.get(changelist, {"pack__kind__exact": "midi"}).content.decode()
    assert "chug" in midi_only and "boom" not in midi_only and "4 bars, 4/4, 140 BPM" in midi_only
    packs = staff_client.get(
        reverse("admin:assets_bank_pack_changelist"), {"kind__exact": "drums"}
    ).content.decode()
    assert "Search kit" in packs and "Search riffs" not in packs


def test_pack_page_offers_styles_as_choices_and_explains_the_revision(staff_client, make_file):
    kit = create_pack("Tagged kit", Kind.DRUMS, style_tags=["thrash", "surf"])
    html = staff_client.get(reverse("admin:assets_bank_pack_change", args=[kit.pk])).content.decode()
    assert 'type="checkbox" name="style_tags" value="thrash"' in html and "checked" in html
    assert 'value="surf"' in html  # a tag outside the styles is kept, not silently dropped
    assert "counts every change to this pack or its samples" in html
    assert "<textarea" not in html.split('name="style_tags"')[0][-300:]


def test_import_page_says_which_file_names_and_roles_it_expects(staff_client):
    html = staff_client.get(reverse("admin:assets_bank_pack_import")).content.decode()
    assert "snare-2.wav" in html and "pack.json" in html and "kit.json" in html
    roles = html[html.index('id="roles-by-kind"') :]
    assert "kick" in roles and "hihat-closed" in roles and "riff" in roles and "palm-mute" in roles
