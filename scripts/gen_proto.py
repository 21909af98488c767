"""Regenerate the control-plane code in sophia-kit from protos/ (``make proto``).

Runs grpc_tools from the project's own virtualenv so the generated code matches the
pinned protobuf runtime. ``--check`` regenerates into a temporary folder and exits 1
when the committed files differ, which is how the test suite catches stale code.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "services" / "kit" / "src"
GENERATED = Path("sophia") / "v1"


def generate(out: Path) -> list[Path]:
    protos = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / GENERATED).glob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    (out / GENERATED).mkdir(parents=True, exist_ok=True)
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"-I{include}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_out={out}",
            *protos,
        ]
    )
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    (out / GENERATED / "__init__.py").write_text('"""Generated control-plane code; run `make proto`."""\n')
    return sorted((out / GENERATED).iterdir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed code is stale")
    args = parser.parse_args()
    if not args.check:
        for path in generate(OUT):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = [
            p.name
            for p in fresh
            if p.is_file()
            and not ((OUT / GENERATED / p.name).exists() and filecmp.cmp(p, OUT / GENERATED / p.name, shallow=False))
        ]
    if stale:
        print(f"stale generated code: {', '.join(stale)}; run `make proto`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
