import json
import pathlib

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "vectors"
RECEIPTS = VECTORS / "receipts"
LOG_KEY = (RECEIPTS / "log-key.txt").read_text().strip()
TEE_ROOT = (RECEIPTS / "tee-root.txt").read_text().strip()


def load(path):
    return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
