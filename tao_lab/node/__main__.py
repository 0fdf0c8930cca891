"""``python -m tao_lab.node``: the devnet node process (what `Devnet` and ``tao-lab devnet`` start)."""

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["devnet", *sys.argv[1:]], python_names=True))  # errors name data_dir=, not --data-dir
