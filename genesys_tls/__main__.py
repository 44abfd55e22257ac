"""``python -m genesys_tls`` runs the CLI."""

import sys

from .cli import main

sys.exit(main())
