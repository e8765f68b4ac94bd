"""Downloading checkpoints: verified, atomic, resumable — against a local HTTP server (no internet here)."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import fetch_models
from pipeline.fetch_models import FetchError, download, fetch


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, honouring ``Range: bytes=N-`` when the server allows it; records what it sent."""

    allow_ranges = True
    damaged_sends = 0  # this many responses go out with their bytes damaged (as a bad transfer does)
    sent: list[tuple[str, int]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        header = self.headers.get("Range")
        if header and self.allow_ranges:
            start = int(header.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if type(self).damaged_sends > 0:
            type(self).damaged_sends -= 1
            body = bytes(b ^ 0xFF for b in body[:64]) + body[64:]
        self.send_header("Content-Length", str(len(body)))
        # Recorded before the body goes out: the client may finish reading before this thread runs again.
        type(self).sent.append((self.path, len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    def handler(*args: object, **kwargs: object) -> RangeHandler:
        return RangeHandler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    RangeHandler.sent = []
    RangeHandler.allow_ranges = True
    RangeHandler.damaged_sends = 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def publish(root: Path, content: bytes, signature: str = "0badc0de") -> str:
    """Put ``content`` on the server under demucs' naming (signature-sha256prefix.th); returns its name."""
    name = f"{signature}-{hashlib.sha256(content).hexdigest()[:8]}.th"
    (root / "hybrid_transformer").mkdir(exist_ok=True)
    (root / "hybrid_transformer" / name).write_bytes(content)
    return name


CONTENT = bytes(range(256)) * 4096  # 1 MiB


def test_download_verifies_and_places_the_file(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    name = publish(root, CONTENT)
    dest = tmp_path / "models" / name
    download(url + "hybrid_transformer/" + name, dest, name.split("-")[1][:8])
    assert dest.read_bytes() == CONTENT
    assert [p.name for p in dest.parent.iterdir()] == [name]


def test_checksum_mismatch_deletes_the_download_and_says_so(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "0badc0de-12345678.th").write_bytes(CONTENT)  # name promises a hash the content lacks
    dest = tmp_path / "models" / "0badc0de-12345678.th"
    with pytest.raises(FetchError, match="failed verification"):
        download(url + "0badc0de-12345678.th", dest, "12345678")
    assert list(dest.parent.iterdir()) == []


def test_a_download_damaged_on_the_way_is_fetched_again(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    RangeHandler.damaged_sends = 1
    name = publish(root, CONTENT)
    dest = tmp_path / name
    said = io.StringIO()
    download(url + "hybrid_transformer/" + name, dest, fetch_models.expected_prefix(name), out=said)
    assert dest.read_bytes() == CONTENT
    assert RangeHandler.sent == [(f"/hybrid_transformer/{name}", len(CONTENT))] * 2
    assert "failed verification" in said.getvalue() and "try 1 of 3" in said.getvalue()


def test_a_download_damaged_every_time_is_given_up_with_the_reason(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = server
    RangeHandler.damaged_sends = 3
    name = publish(root, CONTENT)
    dest = tmp_path / "models" / name
    with pytest.raises(FetchError, match="failed verification"):
        download(url + "hybrid_transformer/" + name, dest, fetch_models.expected_prefix(name), attempts=3)
    assert len(RangeHandler.sent) == 3 and list(dest.parent.iterdir()) == []


def test_interrupted_download_resumes_from_the_part_file(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    name = publish(root, CONTENT)
    dest = tmp_path / name
    (tmp_path / f".{name}.part").write_bytes(CONTENT[:300_000])
    download(url + "hybrid_transformer/" + name, dest, fetch_models.expected_prefix(name))
    assert dest.read_bytes() == CONTENT
    assert RangeHandler.sent == [(f"/hybrid_transformer/{name}", len(CONTENT) - 300_000)]


def test_server_without_ranges_restarts_the_download_cleanly(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = server
    RangeHandler.allow_ranges = False
    name = publish(root, CONTENT)
    dest = tmp_path / name
    (tmp_path / f".{name}.part").write_bytes(b"stale bytes from an older attempt")
    download(url + "hybrid_transformer/" + name, dest, fetch_models.expected_prefix(name))
    assert dest.read_bytes() == CONTENT


def test_verified_file_is_not_downloaded_again(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    name = publish(root, CONTENT)
    (tmp_path / name).write_bytes(CONTENT)
    download(url + "hybrid_transformer/" + name, tmp_path / name, fetch_models.expected_prefix(name))
    assert RangeHandler.sent == []


def test_missing_file_on_server_is_a_clear_error(server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = server
    with pytest.raises(FetchError, match="HTTP 404"):
        download(url + "nothing-0000abcd.th", tmp_path / "nothing-0000abcd.th", "0000abcd")


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="interrupted"):
        download("http://127.0.0.1:9/x-0000abcd.th", tmp_path / "x-0000abcd.th", "0000abcd", timeout=2)


def test_official_list_names_the_htdemucs_checkpoint_with_its_hash() -> None:
    files = fetch_models.remote_files()
    (sig,) = fetch_models.signatures(fetch_models.bag_text("htdemucs"))
    assert files[sig].startswith("https://dl.fbaipublicfiles.com/demucs/")
    assert files[sig].endswith(".th") and len(fetch_models.expected_prefix(files[sig])) == 8
    assert fetch_models.remote_files("http://mirror.example/demucs")[sig].startswith(
        "http://mirror.example/demucs/"
    )


def test_fetched_checkpoint_loads_through_demucs_get_model(server: tuple[str, Path], tmp_path: Path) -> None:
    """End to end: serve a small random HTDemucs in demucs' format, fetch it, load it the pipeline's way."""
    pytest.importorskip("demucs")
    from pipeline.separate import choose, demucs_model
    from pipeline.tests.random_htdemucs import save_random_htdemucs

    url, root = server
    made = save_random_htdemucs(tmp_path / "made", signature="0badc0de")
    (root / "hybrid_transformer").mkdir()
    (root / "hybrid_transformer" / made.name).write_bytes(made.read_bytes())
    models = tmp_path / "models"
    log = io.StringIO()
    paths = fetch(
        "htdemucs",
        models,
        files={"0badc0de": f"{url}hybrid_transformer/{made.name}"},
        bag_yaml="models: ['0badc0de']\n",
        out=log,
    )
    assert sorted(p.name for p in paths) == sorted(["htdemucs.yaml", made.name])
    assert "verified" in log.getvalue()
    checkpoint = demucs_model.find_checkpoint(models)
    assert checkpoint is not None and choose("demucs", models).name == "demucs:htdemucs"
    model = demucs_model.load_model(checkpoint)
    assert list(model.sources) == ["drums", "bass", "other", "vocals"]


def test_command_line_reports_failure_with_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "--models-dir",
        str(tmp_path),
        "--url",
        "http://127.0.0.1:9/",
        "--only",
        "demucs",
        "--source",
        "meta",
    ]
    code = fetch_models.main(args)
    assert code == 1
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "htdemucs.yaml").exists()
