"""Where bundled files live, both in a checkout (top-level notebooks/, templates/, data/) and when installed
(shipped as the sub-packages kpis.notebooks, kpis.templates, kpis.data)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
import unicodedata
from importlib import resources
from pathlib import Path

from .errors import UserError

_CHECKOUT = Path(__file__).resolve().parent.parent


def bundled(folder: str, name: str = "") -> Path:
    """Path of a bundled file or folder: folder is 'notebooks', 'templates' or 'data'."""
    local = _CHECKOUT / folder / name
    if (_CHECKOUT / "pyproject.toml").exists() and local.exists():
        return local
    try:
        return Path(str(resources.files(f"kpis.{folder}"))) / name
    except ModuleNotFoundError:
        return local


def demo_city() -> Path:
    """The bundled demo city (invented data), the default input of `ssc assess`."""
    return bundled("data", "demo_city.xlsx")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (manifests and skip decisions rest on it)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_path(path: Path) -> None:
    """Refuse an output name that is not a regular file already: a link (which could lead outside the output folder),
    a folder, a pipe or a device (`--html /dev/null` must not replace the node)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    if stat.S_ISLNK(st.st_mode):
        raise UserError(f"{os.fsdecode(path)}: is a symbolic link, not a regular file; ssc never writes through a "
                        "link: remove it or choose another output name")
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a pipe" if stat.S_ISFIFO(st.st_mode) else \
            "a device or socket"
        raise UserError(f"{os.fsdecode(path)}: is not a regular file ({kind}); choose another output name")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a fresh temporary file beside the target, then rename: an interrupted run never leaves half a file.

    The temporary name is random and created exclusively (mkstemp: O_EXCL, so a link planted there is never
    followed); an existing target that is not a regular file is refused (check_output_path). The file gets the
    usual permissions (0666 less the umask), not mkstemp's owner-only 0600.
    """
    path = Path(path)
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:80]}.", suffix=".part", dir=path.parent)
    except OSError as exc:  # name the file the user asked for, not our temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data)
            if hasattr(os, "fchmod"):  # by descriptor: the name could be swapped for a link in between
                os.fchmod(fh.fileno(), 0o666 & ~_umask())
            else:  # Windows
                os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_NOT_DECOMPOSED = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss",
                                 "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ı": "i"})
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


MAX_FOLDER_BYTES = 60  # a city folder name, in UTF-8 bytes (file systems allow 255; paths stay short)


def name_key(name: str) -> str:
    """What makes two city names the same city: Unicode form (NFC), case and runs of spaces do not count."""
    return " ".join(unicodedata.normalize("NFC", str(name)).casefold().split())


def name_hash(name: str, length: int = 8) -> str:
    """A short hash of a city name (of its name_key), added to a folder name that would be shared or cut."""
    return hashlib.sha256(name_key(name).encode("utf-8", "surrogatepass")).hexdigest()[:length]


def _readable(name: str) -> str:
    """Lower-case letters and digits of the name joined by '-': Latin letters lose their accents (São → sao),
    letters of other scripts stay as they are (北京, القاهرة), with their own combining marks."""
    out: list[str] = []
    keep_marks = False
    for ch in unicodedata.normalize("NFKD", str(name).translate(_NOT_DECOMPOSED)):
        category = unicodedata.category(ch)
        if ch.isascii():
            out.append(ch.lower() if ch.isalnum() else "-")
            keep_marks = False
        elif category[0] == "M":
            if keep_marks:  # a vowel sign of Devanagari or Arabic stays; an accent on a Latin letter goes
                out.append(ch)
        elif category[0] in "LN":
            out.append(ch.lower())
            keep_marks = True
        else:  # punctuation, symbols, spaces, control and format characters
            out.append("-")
            keep_marks = False
    return re.sub(r"-+", "-", unicodedata.normalize("NFC", "".join(out))).strip("-")


def slugify(name: str, fallback: str = "city", suffix: str = "") -> str:
    """A safe, readable folder name for a city: letters and digits joined by '-' (no separators, no '..', no control
    characters, no reserved names), at most MAX_FOLDER_BYTES bytes. A name cut to fit, or given a `suffix`, ends
    in '-' and a short hash (of the whole name when cut), so that long names sharing a beginning stay apart."""
    slug = _readable(name) or fallback
    if slug in WINDOWS_RESERVED or slug.split("-")[0] in WINDOWS_RESERVED:
        slug = f"city-{slug}"
    if len(slug.encode("utf-8")) > MAX_FOLDER_BYTES and not suffix:
        suffix = name_hash(name)
    if suffix:
        room = MAX_FOLDER_BYTES - len(suffix) - 1
        slug = slug.encode("utf-8")[:room].decode("utf-8", "ignore").strip("-")
        slug = f"{slug}-{suffix}"
    return slug
