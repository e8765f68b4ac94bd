"""No admin click and no API call may leave a kind without a playable default pack; the admin warns about
packs remixes cannot play as they are."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from assets_bank.models import Asset, Kind, Pack
from assets_bank.services import add_asset, create_pack, make_default
from assets_bank.tests.conftest import audio_bytes, midi_bytes, tone_burst

pytestmark = pytest.mark.django_db

KEY = "k3y-for-integrators-0123456789"


@pytest.fixture
def integrator(settings) -> Client:  # type: ignore[no-untyped-def]
    settings.METALIZER_ASSETS_API_KEY = KEY
    return Client(HTTP_X_METALIZER_KEY=KEY)


def refused(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 409, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == "required_role"
    return body["error"]["message"]


def _pack_with(make_file, kind: str, roles: list[str], name: str) -> Pack:  # type: ignore[no-untyped-def]
    pack = create_pack(name, kind)
    for i, role in enumerate(roles):
        if kind == Kind.MIDI:
            path = make_file(f"{role}-{i}.mid", midi_bytes([40 + i, 43]))
        else:
            path = make_file(f"{role}-{i}.wav", audio_bytes(tone_burst(300 + 50 * i, 0.3)))
        add_asset(pack, path, filename=path.name, role=role)
    make_default(pack)
    return pack


@pytest.mark.parametrize(
    ("kind", "roles", "guarded", "free"),
    [
        (Kind.DRUMS, ["kick", "snare", "hihat-closed", "ride"], "snare", "ride"),
        (Kind.IMPULSE_RESPONSE, ["ir"], "ir", None),
        (Kind.GUITAR, ["E2", "E2-bend"], "E2", "E2-bend"),
        (Kind.MIDI, ["riff", "groove"], "riff", "groove"),
    ],
)
def test_api_refuses_to_delete_what_keeps_a_default_pack_playable(
    integrator, make_file, kind, roles, guarded, free
):
    pack = _pack_with(make_file, kind, roles, f"Default {kind}")
    message = refused(integrator.delete(f"/api/assets/{pack.assets.get(role=guarded).pk}"))
    assert pack.name in message and "make another pack the default" in message
    assert pack.assets.filter(role=guarded).exists()
    if free is not None:
        assert integrator.delete(f"/api/assets/{pack.assets.get(role=free).pk}").status_code == 204
    spare = create_pack(f"Spare {kind}", kind)
    path = make_file(
        "spare.mid" if kind == Kind.MIDI else "spare.wav",
        midi_bytes([50]) if kind == Kind.MIDI else audio_bytes(tone_burst(900, 0.3)),
    )
    extra = add_asset(spare, path, filename=path.name, role=guarded)
    assert integrator.delete(f"/api/assets/{extra.pk}").status_code == 204  # not a default: it may go


def test_admin_refuses_to_delete_the_default_kits_last_kick_and_says_why(staff_client, make_file):
    pack = _pack_with(make_file, Kind.DRUMS, ["kick", "snare", "hihat-closed"], "House kit")
    kick = pack.assets.get(role="kick")
    page = staff_client.post(
        reverse("admin:assets_bank_asset_delete", args=[kick.pk]), {"post": "yes"}, follow=True
    )
    text = page.content.decode()
    assert "House kit" in text and "without this" in text and "kick" in text
    assert Asset.objects.filter(pk=kick.pk).exists()
    gone = staff_client.get(reverse("admin:assets_bank_pack_delete", args=[pack.pk]), follow=True)
    assert "cannot be deleted" in gone.content.decode() and Pack.objects.filter(pk=pack.pk).exists()


def test_admin_refuses_to_move_the_default_kits_last_kick_to_another_pack(staff_client, make_file):
    pack = _pack_with(make_file, Kind.DRUMS, ["kick", "snare", "hihat-closed"], "House kit")
    other = create_pack("Other kit", Kind.DRUMS)
    kick = pack.assets.get(role="kick")
    response = staff_client.post(
        reverse("admin:assets_bank_asset_change", args=[kick.pk]),
        {
            "pack": str(other.pk),
            "name": kick.name,
            "role": "kick",
            "position": "0",
            "velocity_min": "0",
            "velocity_max": "1",
            "gain": "1",
        },
    )
    assert response.status_code == 200 and "remixes play it" in response.content.decode()
    kick.refresh_from_db()
    assert kick.pack_id == pack.pk


def test_admin_warns_about_packs_remixes_cannot_play_as_they_are(staff_client, make_file):
    empty = create_pack("Empty kit", Kind.DRUMS)
    lossy = create_pack("Lossy kit", Kind.DRUMS)
    for i, role in enumerate(("kick", "snare", "hihat-closed")):
        path = make_file(f"{role}.wav", audio_bytes(tone_burst(500 + 100 * i, 0.3)))
        add_asset(lossy, path, filename=path.name, role=role)
    snare = lossy.assets.get(role="snare")
    snare.file.storage.delete(snare.file.name)

    listing = staff_client.get(reverse("admin:assets_bank_pack_changelist")).content.decode()
    assert "Cannot be played as it is" in listing and "it has no samples" in listing
    page = staff_client.get(reverse("admin:assets_bank_pack_change", args=[lossy.pk])).content.decode()
    assert "Cannot be played as it is" in page and "missing from storage" in page
    fine = staff_client.get(reverse("admin:assets_bank_pack_change", args=[empty.pk])).content.decode()
    assert "it has no samples" in fine
    checked = staff_client.post(
        reverse("admin:assets_bank_pack_changelist"),
        {"action": "check_files", "_selected_action": [lossy.pk]},
        follow=True,
    ).content.decode()
    assert "Lossy kit" in checked and "snare" in checked and "missing from storage" in checked


def test_admin_bulk_delete_counts_what_it_deleted_beside_what_it_kept(staff_client, make_file):
    from django.contrib.admin.models import DELETION, LogEntry

    pack = _pack_with(make_file, Kind.DRUMS, ["kick", "hihat-closed", "snare", "snare", "snare"], "House kit")
    snares = list(pack.assets.filter(role="snare").values_list("pk", flat=True))
    confirm = staff_client.post(
        reverse("admin:assets_bank_asset_changelist"),
        {"action": "delete_selected", "_selected_action": snares},
    )
    assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
    page = staff_client.post(
        reverse("admin:assets_bank_asset_changelist"),
        {"action": "delete_selected", "_selected_action": snares, "post": "yes"},
        follow=True,
    )
    text = page.content.decode()
    assert pack.assets.filter(role="snare").count() == 1
    assert "Deleted 2 assets." in text and "Kept 1 asset." in text
    assert "Successfully deleted" not in text
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 2


def test_admin_bulk_delete_of_packs_counts_the_default_it_kept(staff_client, make_file):
    default = _pack_with(make_file, Kind.DRUMS, ["kick", "snare", "hihat-closed"], "House kit")
    spare = create_pack("Spare kit", Kind.DRUMS)
    page = staff_client.post(
        reverse("admin:assets_bank_pack_changelist"),
        {"action": "delete_selected", "_selected_action": [default.pk, spare.pk], "post": "yes"},
        follow=True,
    )
    text = page.content.decode()
    assert "Deleted 1 pack." in text and "Default packs were kept" in text
    assert Pack.objects.filter(pk=default.pk).exists() and not Pack.objects.filter(pk=spare.pk).exists()


def test_admin_delete_confirmation_names_what_the_kit_loses(staff_client, make_file):
    pack = _pack_with(make_file, Kind.DRUMS, ["kick", "hihat-closed", *["snare"] * 5], "House kit")
    snares = list(pack.assets.filter(role="snare").values_list("pk", flat=True))
    confirm = staff_client.post(
        reverse("admin:assets_bank_asset_changelist"),
        {"action": "delete_selected", "_selected_action": snares[:4]},
    )
    text = confirm.content.decode()
    assert "What this delete costs" in text
    kit = "&#x27;House kit&#x27; (the default remixes play)"
    assert f"{kit} keeps 1 of its 5 &#x27;snare&#x27; samples" in text
    assert pack.assets.filter(role="snare").count() == 5  # nothing goes before the confirmation

    one = staff_client.get(reverse("admin:assets_bank_asset_delete", args=[snares[0]]))
    assert "keeps 4 of its 5 &#x27;snare&#x27; samples" in one.content.decode()
