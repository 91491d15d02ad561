"""`python -m sample_app`: serve on $HOST:$PORT (default 127.0.0.1:3000) until SIGTERM."""

from __future__ import annotations

import sys

from sample_app.app import main

if __name__ == "__main__":
    sys.exit(main())
