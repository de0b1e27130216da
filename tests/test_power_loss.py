"""Simulated power loss: crash images built from what each sync made durable.

The core records, for tracked files, the bytes each successful fdatasync made durable.
A crash image is that durable image plus a random subset of the pages written since —
each unsynced page kept old, written new, or torn by 512-byte sector into old, new,
zero or garbage — with the file length either grown or not. Recovering any image must
give a consistent prefix holding every entry acknowledged as durable (appended under
sync="always", or before the last completed flush()).

Device model: "powersafe overwrite" (SQLite's default assumption): a write interrupted
by power loss may leave the bytes *being written* old, new, zeroed or garbage, but does
not damage bytes it did not change — so zero/garbage fill applies to the bytes that
differ from the durable image, never to durable bytes sharing their sector.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from scorecard import Cases

from pinnacle import Journal, _core

PAGE, SECTOR = 4096, 512
SCENARIOS = int(os.environ.get("PINNACLE_POWER_LOSS_SCENARIOS", "20"))
IMAGES_PER_SCENARIO = int(os.environ.get("PINNACLE_POWER_LOSS_IMAGES", "500"))


def image_dir() -> str | None:
    """A tmpfs for the images when there is one (fsync there is free)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def crash_images(durable: bytes, current: bytes, rng: random.Random, n: int) -> Iterator[bytes]:
    base = durable + bytes(max(0, len(current) - len(durable)))
    dirty = [p for p in range(0, len(current), PAGE) if current[p : p + PAGE] != base[p : p + PAGE]]
    for _ in range(n):
        img = bytearray(base)
        for p in dirty:
            r = rng.random()
            if r < 0.35:
                continue  # never reached the disk
            if r < 0.7:
                img[p : p + PAGE] = current[p : p + PAGE]
                continue
            for s in range(p, min(p + PAGE, len(current)), SECTOR):
                how = rng.randrange(4)
                if how == 0:
                    continue
                new = current[s : s + SECTOR]
                if how == 1:
                    img[s : s + SECTOR] = new
                    continue
                fill = bytes(len(new)) if how == 2 else rng.randbytes(len(new))
                old = img[s : s + SECTOR]
                img[s : s + SECTOR] = bytes(
                    f if n != o else o for n, o, f in zip(new, old, fill, strict=True)
                )
        if len(current) > len(durable) and rng.random() < 0.3:
            del img[len(durable) :]  # the growth itself was not durable yet
        yield bytes(img)


def run_writer(path: Path, sync: str, rng: random.Random) -> tuple[dict[int, bytes], int]:
    """Appends random entries, flushing now and then; returns (payload by seq, highest seq
    acknowledged as durable). Leaves the journal as a crash would."""
    j = Journal(path, sync=sync, initial_size=8192, growth_step=4096)
    written: dict[int, bytes] = {}
    durable = 0
    for _ in range(rng.randrange(20, 120)):
        if rng.random() < 0.1:
            batch = [rng.randbytes(rng.randrange(0, 200)) for _ in range(rng.randrange(1, 6))]
            first, last = j.append_many(2, batch)
            written.update(zip(range(first, last + 1), batch, strict=True))
        else:
            payload = rng.randbytes(rng.randrange(0, 400))
            written[j.append(1, payload)] = payload
        if sync == "always":
            durable = max(written)
        elif rng.random() < 0.08:
            j.flush()
            durable = max(written)
    j._abandon()
    return written, durable


def check_image(img: bytes, where: Path, written: dict[int, bytes], durable: int, mode: str) -> None:
    where.write_bytes(img)
    with Journal(where, recovery=mode, initial_size=8192, growth_step=4096) as j:
        got = {e.seq: e.payload for e in j.read()}
    seqs = sorted(got)
    assert seqs == list(range(1, len(seqs) + 1)), f"not a prefix: {seqs[:5]}..."
    assert len(seqs) >= durable, f"lost durable entries: recovered {len(seqs)}, durable {durable}"
    assert all(got[s] == written[s] for s in seqs), "a recovered payload differs"
    # Recovering again gives the same state and repairs nothing more.
    with Journal(where, recovery="absolute", initial_size=8192, growth_step=4096) as again:
        assert {e.seq: e.payload for e in again.read()} == got
    where.unlink()


@pytest.mark.reliability("power_loss")
@pytest.mark.parametrize("scenario", range(SCENARIOS))
def test_every_crash_image_recovers_every_durable_entry(tmp_path: Path, scenario: int, cases: Cases) -> None:
    rng = random.Random(1000 + scenario)
    sync = "always" if scenario % 2 else "none"
    path = tmp_path / "p.journal"
    _core._track_durability(True)
    try:
        written, durable = run_writer(path, sync, rng)
        image = _core._durable_image(path)
        assert image is not None, "no sync was recorded"
        current = path.read_bytes()
    finally:
        _core._track_durability(False)
    with tempfile.TemporaryDirectory(dir=image_dir()) as d:
        where = Path(d) / "image.journal"
        for i, img in enumerate(crash_images(image, current, rng, IMAGES_PER_SCENARIO)):
            mode = "point_in_time" if i % 5 == 0 else "tolerate_tail"
            check_image(img, where, written, durable, mode)
            cases.add()
