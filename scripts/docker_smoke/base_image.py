"""The base image: ``python:3.11-slim-bookworm`` when it can be pulled, else a Debian one made here.

The stand-in is Debian bookworm (``debootstrap --variant=minbase`` from Debian's mirror) with bookworm's own
Python 3.11 in a virtual environment at /opt/python whose ``bin`` comes first on PATH, so ``python`` and
``pip`` mean what they mean in the official image. It also trusts this machine's CA bundle (pip reaches PyPI
through it) and points pip at that bundle. It is imported once and kept: the recipe's hash is a label, so a
later run reuses the image until the recipe changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from scripts.docker_smoke.engine import DockerError, docker, image_exists, image_label

DEFAULT_BASE = "python:3.11-slim-bookworm"
LOCAL_BASE = "metalizer-base:bookworm"
RECIPE_LABEL = "org.metalizer.base-recipe"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
VENV = "/opt/python"
# As in Debian's slim images: dpkg leaves out manuals, docs and translations of every package installed later.
DPKG_EXCLUDES = (
    "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
    "path-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n"
    "path-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n"
)
IMAGE_ENV = {
    "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
}


def sources(mirror: str) -> str:
    """APT sources of the official image: the release, its updates and the security archive."""
    security = mirror.rstrip("/").removesuffix("/debian") + "/debian-security"
    return (
        f"Types: deb\nURIs: {mirror}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {security}\nSuites: {SUITE}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


def recipe_hash(mirror: str) -> str:
    """Changes whenever what the base would contain changes (this file, the mirror, the CA bundle)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(mirror.encode())
    if HOST_CA_BUNDLE.exists():
        digest.update(HOST_CA_BUNDLE.read_bytes())
    return digest.hexdigest()[:16]


def default_base_pullable() -> bool:
    """True when the official image is here already or ``docker pull`` gets it."""
    if image_exists(DEFAULT_BASE):
        return True
    return docker(["pull", DEFAULT_BASE], timeout=600, check=False).returncode == 0


def ensure_base_image(*, mirror: str = DEFAULT_MIRROR, workdir: Path) -> str:
    """The name of a base image to build from: the official one if it can be pulled, else the local one."""
    if default_base_pullable():
        return DEFAULT_BASE
    wanted = recipe_hash(mirror)
    if image_label(LOCAL_BASE, RECIPE_LABEL) == wanted:
        print(f"base image: {LOCAL_BASE} (cached; {DEFAULT_BASE} cannot be pulled here)", flush=True)
        return LOCAL_BASE
    print(f"base image: {DEFAULT_BASE} cannot be pulled; making {LOCAL_BASE} with debootstrap", flush=True)
    ensure_debootstrap()
    with tempfile.TemporaryDirectory(prefix="metalizer-base-", dir=workdir) as tmp:
        root = Path(tmp) / "root"
        bootstrap(root, mirror)
        import_root(root, wanted)
    return LOCAL_BASE


def ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "debootstrap"], check=True, env=env)


def chroot(root: Path, *args: str) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["chroot", str(root), *args], check=True, env=env)


def bootstrap(root: Path, mirror: str) -> None:
    """A minimal bookworm with Python, its venv module, the CA bundle of this machine and /opt/python."""
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(root), mirror],
        check=True,
    )
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    (root / "etc/apt/sources.list.d/debian.sources").write_text(sources(mirror))
    if HOST_CA_BUNDLE.exists():
        # Kept across ca-certificates updates: update-ca-certificates adds every file of this folder.
        shutil.copyfile(HOST_CA_BUNDLE, root / "usr/local/share/ca-certificates/host-ca-bundle.crt")
        chroot(root, "update-ca-certificates")
    chroot(root, "python3", "-m", "venv", VENV)
    chroot(root, "apt-get", "clean")
    (root / "etc/dpkg/dpkg.cfg.d/slim-excludes").write_text(DPKG_EXCLUDES)
    for folder in ("var/lib/apt/lists", "var/cache/apt/archives", "tmp", "usr/share/man", "usr/share/info"):
        for entry in (root / folder).glob("*"):
            if entry.is_file() or entry.is_symlink():
                entry.unlink()
            elif entry.name != "partial":
                shutil.rmtree(entry)
    for doc in (root / "usr/share/doc").glob("*/*"):
        if doc.name != "copyright" and not doc.is_dir():
            doc.unlink()
    for locale in (root / "usr/share/locale").glob("*"):
        if locale.is_dir():
            shutil.rmtree(locale)


def import_root(root: Path, recipe: str) -> None:
    """``tar -C root -c . | docker import - LOCAL_BASE`` with the official image's environment."""
    changes = [f"ENV {name}={value}" for name, value in IMAGE_ENV.items()]
    changes += [f"LABEL {RECIPE_LABEL}={recipe}", 'CMD ["python3"]']
    args = ["docker", "import", "--message", f"debootstrap {SUITE} minbase, Python 3.11 venv at {VENV}"]
    for change in changes:
        args += ["--change", change]
    tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    result = subprocess.run([*args, "-", LOCAL_BASE], stdin=tar.stdout, capture_output=True, text=True)
    tar.stdout.close()
    if tar.wait() != 0 or result.returncode != 0:
        raise DockerError(f"importing {root} as {LOCAL_BASE} failed:\n{result.stderr[-2000:]}")
    print(f"base image: imported {LOCAL_BASE}", flush=True)
