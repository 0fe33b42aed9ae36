from __future__ import annotations

from sleuth.cli import main

main()
